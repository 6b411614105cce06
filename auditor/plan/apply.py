"""``flowaudit apply PLAN --yes``: re-read, refuse what changed, apply the rest, record how to undo it.

For each ready change, in plan order:

1. every precondition of the steps that run is read live (GET, paged for collections); if any no
   longer holds the change is **refused**, naming the current value, and nothing is sent for it;
2. the steps are sent in order; the first failure stops the change and the steps already applied
   are rolled back (their rollback requests, each checked first), newest first;
3. an applied change adds its rollback to ``rollback.json`` — itself a plan, rewritten after every
   change so an interrupted run still leaves a complete one.

Every request (reads included) is one JSON line in the apply log: time, change, step, phase,
method, URL (secrets redacted), the body as a reviewer sees it (secrets named, never read), status.
Tokens and certificate passwords never reach the log or any file.

The Graph transport is passed in (:class:`Client`), so this module imports no SDK: ``apply --yes``
builds the real one from :mod:`auditor.collect` and tests may drive it against the Graph double.
"""

from __future__ import annotations

import copy
import json
import os
import re
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from auditor.model.graph import odata_type
from auditor.plan.inputs import (
    NOT_FOUND,
    Resolver,
    display,
    display_url,
    is_placeholder,
    pointer_get,
    resolve_path,
)
from auditor.plan.model import (
    STEP_TOKEN,
    Change,
    Check,
    Need,
    NotPlanned,
    Plan,
    PlanSource,
    SourceFile,
    Step,
    to_json,
)
from auditor.redact import redact_url
from auditor.sources import SOURCES
from auditor.timefmt import iso_utc

Send = Callable[[str, str, Any], Awaitable[tuple[int, Any]]]
Status = Literal["applied", "refused", "failed", "skipped"]
MAX_PAGES = 200  # a precondition read of a collection never pages forever
COLLECTIONS = tuple(s for s in SOURCES if not s.singleton and "{" not in s.path)


class Fatal(Exception):
    """Graph cannot be reached or rejected the token: nothing further can be sent (exit 3)."""


@dataclass
class Outcome:
    change: Change
    status: Status
    reasons: list[str] = field(default_factory=list)
    rolled_back: bool | None = None  # a failed change: were its applied steps undone?


@dataclass
class ApplyLog:
    """Append-only JSON lines; each line is flushed as it is written (a crash keeps what happened)."""

    path: Path
    _handle: Any = None

    def write(self, **entry: Any) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        line = {"time": iso_utc(datetime.now(timezone.utc)), **entry}
        self._handle.write(json.dumps(line, ensure_ascii=False, sort_keys=False) + "\n")
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _norm(value: Any) -> Any:
    """Graph compares enum-like values case-insensitively; so do preconditions."""
    if value is NOT_FOUND:
        return None
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, dict):
        return {str(k).casefold(): _norm(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    return value


def shown(value: Any, limit: int = 240) -> str:
    """A current value as a refusal names it: compact JSON, URLs redacted, cut to a line."""
    if value is NOT_FOUND:
        return "absent"
    text = json.dumps(display(value, {}), ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _graph_error(status: int, body: Any) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return f"HTTP {status} {error.get('code') or ''}: {error.get('message') or ''}".strip()
    return f"HTTP {status}"


def active_steps(change: Change) -> list[Step]:
    return [s for s in change.steps if s.when is None or s.when.holds(change.inputs)]


def active_checks(step: Step, inputs: dict[str, Any]) -> list[Check]:
    return [c for c in step.precondition if c.when is None or c.when.holds(inputs)]


class Executor:
    def __init__(self, plan: Plan, base_dir: Path, send: Send, log: ApplyLog,
                 env: Callable[[str], str | None] = os.environ.get) -> None:
        self.plan = plan
        self.base_dir = base_dir
        self.send = send
        self.log = log
        self.env = env
        self.outcomes: list[Outcome] = []
        self.undo: list[Change] = []  # rollback changes, newest first
        self.without_rollback: list[NotPlanned] = []  # applied, but nothing defined to undo them

    # -- one request ------------------------------------------------------------------------
    async def _request(self, change: Change, step: Step, phase: str, method: str, url: str, body: Any,
                       shown_body: Any = None) -> tuple[int, Any]:
        from auditor.collect.transport import GraphError  # lazily: only apply --yes sends

        entry: dict[str, Any] = {"change": change.id, "step": step.id, "phase": phase, "method": method,
                                 "url": display_url(url)}
        if shown_body is not None:
            entry["body"] = shown_body
        try:
            status, answer = await self.send(method, url, body)
        except GraphError as exc:
            self.log.write(**entry, status=exc.status, error=str(exc)[:300])
            if exc.fatal or exc.code in ("Unreachable", "ForeignHost"):
                raise Fatal(str(exc)) from None
            return exc.status or 0, {"error": {"code": exc.code, "message": exc.message}}
        if status == 401:
            self.log.write(**entry, status=status, error=_graph_error(status, answer))
            raise Fatal(f"Graph rejected the token: {_graph_error(status, answer)}")
        line = {**entry, "status": status}
        if status >= 400:
            line["error"] = _graph_error(status, answer)[:300]
        self.log.write(**line)
        return status, answer

    async def _read(self, change: Change, step: Step, url: str, cache: dict[str, tuple[int, Any]]) -> tuple[int, Any]:
        if url in cache:
            return cache[url]
        status, body = await self._request(change, step, "check", "GET", url, None)
        # A collection: read every page, so "no policy of that name" means none on any page.
        pages = 0
        while 200 <= status < 300 and isinstance(body, dict) and isinstance(body.get("value"), list) \
                and isinstance(body.get("@odata.nextLink"), str) and pages < MAX_PAGES:
            pages += 1
            next_status, more = await self._request(change, step, "check", "GET", body["@odata.nextLink"],
                                                    None)
            if not (200 <= next_status < 300 and isinstance(more, dict)):
                status, body = next_status, more
                break
            body = {**more, "value": body["value"] + list(more.get("value") or [])}
            if "@odata.nextLink" not in more:
                body.pop("@odata.nextLink", None)
        if status in (404, 405):
            status, body = await self._item_from_collection(change, step, url, status, body)
        cache[url] = (status, body)
        return status, body

    async def _item_from_collection(self, change: Change, step: Step, url: str, status: int,
                                    body: Any) -> tuple[int, Any]:
        """An item GET that failed: look for the item in its collection before calling it gone.

        Graph serves every item the plan reads by id; a proxy or test server may serve only the
        collections flowaudit collects, so a 404 there is confirmed against the collection."""
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(url)
        parent, _, ident = parts.path.rpartition("/")
        if not ident or not any(parent.endswith(f"/{s.api}{s.path}") for s in COLLECTIONS):
            return status, body
        listing = f"{parts.scheme}://{parts.netloc}{parent}"
        list_status, listed = await self._read(change, step, listing, {})
        items = listed.get("value") if isinstance(listed, dict) else None
        if not 200 <= list_status < 300 or not isinstance(items, list):
            return status, body
        wanted = unquote(ident).casefold()
        found = next((i for i in items if isinstance(i, dict) and str(i.get("id", "")).casefold() == wanted), None)
        return (200, found) if found is not None else (status, body)

    # -- preconditions ----------------------------------------------------------------------
    def judge(self, check: Check, status: int, body: Any, resolver: Resolver) -> str | None:
        """Why the check does not hold (naming the current value), or None."""
        if check.op == "notFound":
            return None if status == 404 else f"{check.description}: it exists (HTTP {status})"
        if status == 404:
            return f"{check.description}: the resource no longer exists"
        if not 200 <= status < 300:
            return f"{check.description}: could not be read ({_graph_error(status, body)})"
        if check.op == "exists":
            return None
        expected = resolver.value(check.value)
        if check.op == "noneMatch":
            items = body.get("value") if isinstance(body, dict) else None
            wanted = {k: _norm(resolver.value(v)) for k, v in check.match.items()}
            hits = [i for i in items or [] if isinstance(i, dict)
                    and all(_norm(i.get(k)) == v for k, v in wanted.items())]
            return None if not hits else f"{check.description}: one exists (id {hits[0].get('id')})"
        if check.op == "idsEqual":
            items = body.get("value") if isinstance(body, dict) else None
            ids = sorted(str(i.get("id")).casefold() for i in items or [] if isinstance(i, dict))
            want = sorted(str(v).casefold() for v in expected or [])
            return None if ids == want else f"{check.description}: now {shown(ids)}, the plan expects {shown(want)}"
        live = pointer_get(body, check.pointer)
        if check.op == "equals":
            ok = _norm(live) == _norm(expected)
        elif check.op == "notEquals":
            ok = _norm(live) != _norm(expected)
        elif check.op == "urlEquals":
            ok = isinstance(live, str) and isinstance(expected, str) and \
                redact_url(live).casefold() == redact_url(expected).casefold()
        elif check.op == "typeIs":
            ok = isinstance(live, str) and odata_type(live) == odata_type(str(expected))
        else:  # pragma: no cover - CheckOp is a closed set
            return f"{check.description}: unknown check {check.op}"
        if ok:
            return None
        relation = "not " if check.op == "notEquals" else ""
        return f"{check.description}: {check.pointer or 'value'} is {shown(live)}, the plan expects {relation}" \
               f"{shown(expected)}"

    async def _preconditions(self, change: Change, steps: list[Step], resolver: Resolver) -> list[str]:
        cache: dict[str, tuple[int, Any]] = {}
        failures = []
        for step in steps:
            for check in active_checks(step, change.inputs):
                url = resolver.url(check.url)
                status, body = await self._read(change, step, url, cache)
                why = self.judge(check, status, body, resolver)
                if why:
                    failures.append(f"step {step.id}: {why}")
        return failures

    # -- a change ---------------------------------------------------------------------------
    async def run(self, change: Change) -> Outcome:
        steps = active_steps(change)
        if not steps:
            return self._done(Outcome(change, "skipped", ["no step applies with these inputs"]))
        resolver = Resolver(change.inputs, self.base_dir, secrets=True, env=self.env)
        failures = await self._preconditions(change, steps, resolver)
        if failures:
            for reason in failures:
                self.log.write(change=change.id, phase="refused", reason=reason)
            return self._done(Outcome(change, "refused", failures))
        applied: list[Step] = []
        for step in steps:
            url = resolver.url(step.request.url)
            body = resolver.value(step.request.body) if step.request.body is not None else None
            status, answer = await self._request(change, step, "apply", step.request.method, url, body,
                                                 display(step.request.body, change.inputs)
                                                 if step.request.body is not None else None)
            if not 200 <= status < 300:
                reason = f"step {step.id} ({step.description}) failed: {_graph_error(status, answer)}"
                undone, left = await self._roll_back(change, applied, resolver)
                outcome = Outcome(change, "failed", [reason, *undone], rolled_back=not left)
                if left:
                    self._remember(change, left, resolver, partial=True)
                return self._done(outcome)
            if step.request.method == "POST" and not (isinstance(answer, dict) and answer.get("id")):
                answer = await self._created(change, step, url, body) or answer
            resolver.outputs[step.id] = answer if answer is not None else {}
            applied.append(step)
        self._remember(change, applied, resolver)
        return self._done(Outcome(change, "applied"))

    def _remember(self, change: Change, applied: list[Step], resolver: Resolver, partial: bool = False) -> None:
        undo = self.rollback_change(change, applied, resolver, partial)
        if undo is not None:
            self.undo.insert(0, undo)
            return
        reason = f"change {change.id} was applied and defines no rollback"
        self.without_rollback.extend(NotPlanned(fingerprint=f.fingerprint, ruleId=f.ruleId, resource=f.resource,
                                                reason=reason) for f in change.findings)

    async def _created(self, change: Change, step: Step, url: str, body: Any) -> Any:
        """Graph answers a create with the new object; a server that answers without it must not leave
        the rollback unable to name what it created: find it in the collection by its name."""
        name = body.get("displayName") if isinstance(body, dict) else None
        if not isinstance(name, str):
            return None
        status, listed = await self._read(change, step, url, {})
        items = listed.get("value") if 200 <= status < 300 and isinstance(listed, dict) else None
        matches = [i for i in items or [] if isinstance(i, dict) and i.get("displayName") == name and i.get("id")]
        return matches[-1] if len(matches) == 1 else None

    def _done(self, outcome: Outcome) -> Outcome:
        self.outcomes.append(outcome)
        return outcome

    async def _roll_back(self, change: Change, applied: list[Step], resolver: Resolver) -> tuple[list[str], list[Step]]:
        """Undo the applied steps, newest first; returns what was said and the steps still applied."""
        notes: list[str] = []
        for index in range(len(applied) - 1, -1, -1):
            step = applied[index]
            ok = bool(step.rollback)
            for undo in step.rollback:
                try:
                    inner = Resolver(change.inputs, self.base_dir, secrets=True, env=self.env,
                                     outputs=resolver.outputs)
                    failures = await self._preconditions(change, [undo], inner)
                    if failures:
                        notes.append(f"rollback of step {step.id} refused: {failures[0]}")
                        ok = False
                        break
                    url = inner.url(undo.request.url)
                    body = inner.value(undo.request.body) if undo.request.body is not None else None
                except Exception as exc:  # a rollback needing an unsupplied secret cannot run here
                    if isinstance(exc, Fatal):
                        raise
                    notes.append(f"rollback of step {step.id} not possible now: {exc}")
                    ok = False
                    break
                status, answer = await self._request(change, undo, "rollback", undo.request.method, url, body,
                                                     display(undo.request.body, change.inputs)
                                                     if undo.request.body is not None else None)
                if not 200 <= status < 300:
                    notes.append(f"rollback of step {step.id} failed: {_graph_error(status, answer)}")
                    ok = False
                    break
            if not ok:
                if not step.rollback:
                    notes.append(f"step {step.id} has no rollback{': ' + step.rollbackNote if step.rollbackNote else ''}")
                return notes, applied[: index + 1]
            notes.append(f"step {step.id} rolled back")
        return notes, []

    # -- rollback.json ----------------------------------------------------------------------
    def rollback_change(self, change: Change, applied: list[Step], resolver: Resolver,
                        partial: bool = False) -> Change | None:
        """The change that restores what ``applied`` changed: their rollback steps, newest first, with
        every value the apply learnt (inputs, ids Graph assigned) written in; secrets stay placeholders."""
        steps: list[Step] = []
        needs: list[Need] = []
        inputs: dict[str, Any] = {}
        notes: list[str] = []
        for step in reversed(applied):
            if not step.rollback:
                notes.append(f"step {step.id} ({step.description}) has no rollback"
                             + (f": {step.rollbackNote}" if step.rollbackNote else ""))
                continue
            if step.rollbackNote:
                notes.append(step.rollbackNote)
            for need in step.rollbackNeeds:
                if need.name not in inputs:
                    needs.append(need)
                    inputs[need.name] = None
            redo = _freeze(step.model_copy(update={"rollback": [], "rollbackNeeds": []}), change.inputs,
                           resolver.outputs)
            for undo in step.rollback:
                frozen = _freeze(undo, change.inputs, resolver.outputs)
                if not frozen.rollback:
                    frozen = frozen.model_copy(update={"rollback": [redo]})
                    # the redo re-sends the original request: carry the (non-secret) inputs it names
                    for name in _placeholder_inputs(step.request.body):
                        original = next((n for n in change.needs if n.name == name), None)
                        if original is not None and name not in inputs:
                            needs.append(original)
                            value = change.inputs.get(name)
                            if original.kind == "pkcs12File" and isinstance(value, str):
                                # rollback.json lives elsewhere: keep the file it names findable
                                value = str(resolve_path(value, self.base_dir).resolve())
                            inputs[name] = value
                steps.append(frozen.model_copy(update={"when": None}))
        if not steps:
            return None
        summary = f"Undo {change.id}, which did: {change.summary}"
        if partial:
            summary = f"Finish undoing {change.id} (its rollback did not complete), which did: {change.summary}"
        return Change(id=f"R{change.id}", ruleId=change.ruleId, findings=change.findings, summary=summary,
                      automatic=all(inputs.get(n.name) is not None for n in needs), needs=needs,
                      inputs=inputs, steps=steps, note=" ".join(notes) or None)


def _placeholder_inputs(template: Any) -> list[str]:
    if is_placeholder(template):
        name = template.get("$env") or template.get("$file") or template.get("$input")
        return [name] if isinstance(name, str) else []
    if isinstance(template, dict):
        return [n for v in template.values() for n in _placeholder_inputs(v)]
    if isinstance(template, list):
        return [n for v in template for n in _placeholder_inputs(v)]
    return []


def _freeze_value(template: Any, inputs: dict[str, Any], outputs: dict[str, Any]) -> Any:
    """Write in what is known and not secret: inputs ($input) and earlier responses ($step)."""
    if is_placeholder(template):
        if "$input" in template and inputs.get(template["$input"]) is not None:
            return copy.deepcopy(inputs[template["$input"]])
        if "$step" in template and template["$step"] in outputs:
            found = pointer_get(outputs[template["$step"]], template.get("pointer", ""))
            return template if found is NOT_FOUND else copy.deepcopy(found)
        return template
    if isinstance(template, dict):
        return {k: _freeze_value(v, inputs, outputs) for k, v in template.items()}
    if isinstance(template, list):
        return [_freeze_value(v, inputs, outputs) for v in template]
    return template


def _freeze_url(url: str, outputs: dict[str, Any]) -> str:
    from urllib.parse import quote

    def one(match: re.Match[str]) -> str:
        if match.group(1) not in outputs:
            return match.group(0)
        found = pointer_get(outputs[match.group(1)], match.group(2))
        return match.group(0) if found is NOT_FOUND else quote(str(found), safe="")
    return STEP_TOKEN.sub(one, url)


def _freeze(step: Step, inputs: dict[str, Any], outputs: dict[str, Any]) -> Step:
    request = step.request.model_copy(update={"url": _freeze_url(step.request.url, outputs),
                                              "body": _freeze_value(step.request.body, inputs, outputs)})
    checks = [c.model_copy(update={"url": _freeze_url(c.url, outputs), "value": _freeze_value(c.value, inputs, outputs),
                                   "match": _freeze_value(c.match, inputs, outputs), "when": None})
              for c in step.precondition if c.when is None or c.when.holds(inputs)]
    return step.model_copy(update={"request": request, "precondition": checks,
                                   "rollback": [_freeze(r, inputs, outputs) for r in step.rollback]})


def rollback_plan(plan: Plan, executor: Executor, plan_path: Path, applied_at: str) -> Plan:
    return Plan(kind="rollback", tool=plan.tool, generatedAt=applied_at, tenantId=plan.tenantId, cloud=plan.cloud,
                graphRoot=plan.graphRoot,
                source=PlanSource(plan=SourceFile(path=str(plan_path), generatedAt=plan.generatedAt),
                                  appliedAt=applied_at),
                changes=executor.undo, notPlanned=executor.without_rollback)


def write_atomic(path: Path, text: str) -> None:
    """Temp file + fsync + rename: a reader (or a crash) never sees half a rollback plan."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_rollback(plan: Plan, executor: Executor, plan_path: Path, target: Path, applied_at: str) -> None:
    write_atomic(target, to_json(rollback_plan(plan, executor, plan_path, applied_at)))
