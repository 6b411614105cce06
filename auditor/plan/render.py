"""A plan for people: console text (``plan show``, the ``apply`` dry run) and Markdown.

Everything from the tenant goes through :func:`auditor.text.for_terminal` / ``for_markdown``; bodies
are shown as a reviewer should see them (inputs filled in, secrets named, URL secrets redacted).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from auditor.plan import inputs as plan_inputs
from auditor.plan.apply import active_checks, active_steps, shown
from auditor.plan.model import Change, Check, Plan, Step
from auditor.text import for_markdown, for_terminal

STATUS_LABELS = {"ready": "ready", "needsInput": "needs input", "invalid": "invalid input"}


def change_status(change: Change, base_dir: Path) -> tuple[str, str]:
    """(status, one-line label): ready (automatic or inputs supplied), needs input (which), invalid (why)."""
    status = plan_inputs.status(change, base_dir)
    if status == "invalid":
        return status, "invalid input: " + "; ".join(plan_inputs.problems(change, base_dir))
    if status == "needsInput":
        return status, "needs input: " + ", ".join(n.name for n in plan_inputs.missing(change))
    return status, "ready (automatic)" if change.automatic else "ready (inputs supplied)"


def describe_check(check: Check, inputs: dict[str, Any]) -> str:
    value = shown(plan_inputs.display(check.value, inputs))
    where = check.pointer or "the resource"
    detail = {
        "equals": f"{where} = {value}",
        "notEquals": f"{where} ≠ {value}",
        "urlEquals": f"{where} is {value} (secrets redacted)",
        "typeIs": f"{where} is {value}",
        "exists": "it exists",
        "notFound": "it does not exist",
        "noneMatch": f"no item with {shown(plan_inputs.display(check.match, inputs))}",
        "idsEqual": f"the ids are exactly {value}",
    }[check.op]
    guard = f" [only if inputs.{check.when.input} = {check.when.equals}]" if check.when and check.when.equals else ""
    return f"{check.description} — GET {plan_inputs.display_url(check.url)}: {detail}{guard}"


def _body(step: Step, inputs: dict[str, Any]) -> str | None:
    if step.request.body is None:
        return None
    return json.dumps(plan_inputs.display(step.request.body, inputs), ensure_ascii=False, separators=(",", ":"))


def _guard(step: Step) -> str:
    when = step.when
    if when is None:
        return ""
    if when.notEquals is not None:
        return f" [unless inputs.{when.input} = {when.notEquals}]"
    return f" [only if inputs.{when.input} = {when.equals}]"


def _step_lines(step: Step, inputs: dict[str, Any], esc: Callable[[Any], str], indent: str) -> list[str]:
    lines = [f"{indent}{step.id}  {esc(step.description)}{esc(_guard(step))}",
             f"{indent}    {step.request.method} {esc(plan_inputs.display_url(step.request.url))}"]
    body = _body(step, inputs)
    if body:
        lines.append(f"{indent}    body: {esc(body)}")
    perms = step.permission + (f" (with {', '.join(step.alsoRequires)})" if step.alsoRequires else "")
    lines.append(f"{indent}    permission: {perms}")
    for check in step.precondition:
        lines.append(f"{indent}    expects: {esc(describe_check(check, inputs))}")
    for undo in step.rollback:
        undo_body = _body(undo, inputs)
        lines.append(f"{indent}    rollback: {undo.request.method} {esc(plan_inputs.display_url(undo.request.url))}"
                     + (f" {esc(undo_body)}" if undo_body else ""))
    if not step.rollback:
        lines.append(f"{indent}    rollback: none" + (f" ({esc(step.rollbackNote)})" if step.rollbackNote else ""))
    elif step.rollbackNote:
        lines.append(f"{indent}    note: {esc(step.rollbackNote)}")
    for need in step.rollbackNeeds:
        lines.append(f"{indent}    rollback needs {need.name} ({need.kind}): {esc(need.prompt)}")
    return lines


def _header(plan: Plan, esc: Callable[[Any], str]) -> list[str]:
    kind = "Rollback plan" if plan.kind == "rollback" else "Change plan"
    src = plan.source
    origin = ""
    if src.result is not None:
        origin = f" from {esc(src.result.path)}" + (f" (snapshot {esc(src.snapshot.path)})" if src.snapshot else "")
    elif src.plan is not None:
        origin = f" undoing {esc(src.plan.path)}, applied {esc(src.appliedAt or '')}"
    return [f"{kind} for tenant {esc(plan.tenantId)} (cloud {esc(plan.cloud)}), generated {esc(plan.generatedAt)}{origin}"]


def counts(plan: Plan, base_dir: Path) -> dict[str, int]:
    tally = {"changes": len(plan.changes), "automatic": 0, "ready": 0, "needsInput": 0, "invalid": 0,
             "notPlanned": len(plan.notPlanned)}
    for change in plan.changes:
        status, _ = change_status(change, base_dir)
        tally[status] += 1
        tally["automatic"] += change.automatic
    return tally


def render_text(plan: Plan, base_dir: Path) -> str:
    esc = for_terminal
    tally = counts(plan, base_dir)
    lines = _header(plan, esc)
    lines.append(f"{tally['changes']} change(s): {tally['automatic']} automatic, {tally['ready']} ready to apply, "
                 f"{tally['needsInput']} waiting for input, {tally['invalid']} with invalid input; "
                 f"{tally['notPlanned']} open finding(s) not planned.")
    for change in plan.changes:
        _, label = change_status(change, base_dir)
        lines += ["", f"{change.id}  {change.ruleId}  {label}", f"    {esc(change.summary)}"]
        for link in change.findings:
            name = link.resource.displayName or link.resource.id
            lines.append(f"    fixes {link.ruleId} on {esc(link.resource.type)} {esc(name)} ({esc(link.resource.id)})")
        for need in change.needs:
            value = change.inputs.get(need.name)
            supplied = f" = {esc(shown(value))}" if value is not None else ""
            lines.append(f"    needs {need.name} ({need.kind}){supplied}: {esc(need.prompt)}")
            for choice in need.choices:
                lines.append(f"        {esc(choice.value)}: {esc(choice.label)}")
        if change.note:
            lines.append(f"    note: {esc(change.note)}")
        for step in change.steps:
            lines += _step_lines(step, change.inputs, esc, "    ")
    if plan.notPlanned:
        lines += ["", f"Not planned ({len(plan.notPlanned)}):"]
        for item in plan.notPlanned:
            name = item.resource.displayName or item.resource.id
            lines.append(f"  {item.ruleId}  {esc(item.resource.type)} {esc(name)}: {esc(item.reason)}")
    lines += ["", *permission_lines(plan)]
    return "\n".join(lines) + "\n"


def permission_lines(plan: Plan) -> list[str]:
    if not plan.changes:
        return ["No change: apply needs no permission."]
    lines = ["Permissions apply needs (application permissions, Microsoft Graph), per change:"]
    for change in plan.changes:
        lines.append(f"  {change.id} {change.ruleId}: {', '.join(change.permissions())}")
    lines.append("  all: " + ", ".join(plan.permissions()))
    reads = plan.read_permissions()
    if reads:
        lines.append("  to re-read the preconditions: " + ", ".join(reads))
    return lines


def render_markdown(plan: Plan, base_dir: Path) -> str:
    md = for_markdown
    tally = counts(plan, base_dir)
    lines = [f"# {md(_header(plan, str)[0])}", "",
             f"**{tally['changes']}** change(s): {tally['automatic']} automatic, {tally['ready']} ready to apply, "
             f"{tally['needsInput']} waiting for input, {tally['invalid']} with invalid input; "
             f"{tally['notPlanned']} open finding(s) not planned.", ""]
    for change in plan.changes:
        _, label = change_status(change, base_dir)
        lines += [f"## {change.id} · {change.ruleId} · {md(label)}", "", md(change.summary), ""]
        for link in change.findings:
            lines.append(f"- fixes {link.ruleId} on {md(link.resource.type)} "
                         f"{md(link.resource.displayName or link.resource.id)} ({md(link.resource.id)})")
        for need in change.needs:
            value = change.inputs.get(need.name)
            lines.append(f"- **needs** `{need.name}` ({need.kind})" + (f" = {md(shown(value))}" if value is not None
                                                                     else "") + f": {md(need.prompt)}")
            lines.extend(f"  - {md(c.value)}: {md(c.label)}" for c in need.choices)
        if change.note:
            lines.append(f"- note: {md(change.note)}")
        lines.append("")
        for step in change.steps:
            text = _step_lines(step, change.inputs, md, "")
            lines.append(f"1. {text[0]}")
            lines.extend(f"   - {line.strip()}" for line in text[1:])
        lines.append("")
    if plan.notPlanned:
        lines += ["## Not planned", "", "| rule | resource | why |", "|---|---|---|"]
        for item in plan.notPlanned:
            lines.append(f"| {item.ruleId} | {md(item.resource.displayName or item.resource.id)} | {md(item.reason)} |")
        lines.append("")
    lines += ["## Permissions", "", *(f"- {md(line.strip())}" for line in permission_lines(plan)[1:])]
    return "\n".join(lines) + "\n"


def render_dry_run(plan: Plan, base_dir: Path) -> str:
    """What ``apply --yes`` would read and send, change by change; nothing here touches the network."""
    esc = for_terminal
    lines = ["Dry run: nothing was sent. With --yes, flowaudit would authenticate, then for each ready change "
             "re-read the resources below, refuse it if any expectation no longer holds, and send its requests "
             "in order:"]
    for change in plan.changes:
        status, label = change_status(change, base_dir)
        lines += ["", f"{change.id}  {change.ruleId}  {label}", f"    {esc(change.summary)}"]
        if status != "ready":
            lines.append("    skipped: " + ("it stays inert until the plan file supplies its inputs"
                                           if status == "needsInput" else "fix its inputs first"))
            continue
        for step in active_steps(change):
            for check in active_checks(step, change.inputs):
                lines.append(f"    would check: {esc(describe_check(check, change.inputs))}")
        for step in active_steps(change):
            body = _body(step, change.inputs)
            lines.append(f"    would send: {step.request.method} {esc(plan_inputs.display_url(step.request.url))}"
                         + (f" {esc(body)}" if body else ""))
    lines += ["", *permission_lines(plan)]
    return "\n".join(lines) + "\n"
