"""Waivers (README "Config, waivers and baselines"): accepted findings that keep their place in the result but do not gate.

A waiver file is YAML with a top-level ``waivers:`` list; the config file may carry the same list
inline. Each entry: ``rule`` (a catalog id), ``resource`` (a finding's resource id or a glob,
matched case-insensitively; ``*`` when omitted), ``justification`` and ``expires`` (YYYY-MM-DD,
both required) and ``owner``.

Waivers match the resource **id** only, never the display name: display names are free text chosen
in the tenant (a guest picks their own), so matching them would let tenant data waive findings.

A waiver is valid through its ``expires`` day. "Today" is the **date of the snapshot's
collectedAt** (UTC), not the wall clock, so re-auditing an old snapshot gives the same result.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.result import Finding, RuleOutcome, WaiverIssue, WaiverRef, WaiverReport
from auditor.yamlfile import safe_load_yaml

WAIVER_KEYS = ("rule", "resource", "justification", "expires", "owner")


@dataclass(frozen=True)
class Waiver:
    rule: str
    resource: str
    justification: str
    expires: date
    owner: str | None
    entry: int  # 1-based position in its list, for messages

    def matches(self, finding: Finding) -> bool:
        return finding.ruleId == self.rule and fnmatchcase(finding.resource.id.casefold(), self.resource.casefold())

    def expired_on(self, day: date) -> bool:
        return self.expires < day

    def ref(self, expired: bool) -> WaiverRef:
        return WaiverRef(entry=self.entry, rule=self.rule, resource=self.resource, justification=self.justification,
                         owner=self.owner, expires=self.expires.isoformat(), expired=expired)

    def issue(self, findings: int = 0) -> WaiverIssue:
        return WaiverIssue(entry=self.entry, rule=self.rule, resource=self.resource, owner=self.owner,
                           expires=self.expires.isoformat(), findings=findings)


def _entry_error(label: str, number: int, rule: Any, problem: str) -> InputError:
    which = f"waiver entry {number}" + (f" (rule {rule})" if isinstance(rule, str) and rule else "")
    return InputError(f"{label}: {which}: {problem}")


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def parse_waiver(item: Any, number: int, label: str, known_rules: set[str]) -> Waiver:
    if not isinstance(item, dict):
        raise _entry_error(label, number, None, "must be a mapping with rule, resource, justification, expires, owner")
    rule_value = item.get("rule")

    def fail(problem: str) -> InputError:
        return _entry_error(label, number, rule_value, problem)

    unknown = sorted(str(k) for k in item if k not in WAIVER_KEYS)
    if unknown:
        raise fail(f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(WAIVER_KEYS)})")
    rule = _text(rule_value)
    if rule is None:
        raise fail("'rule' is required")
    rule = rule.upper()
    if rule not in known_rules:
        raise fail(f"unknown rule id {rule} (see 'flowaudit rules list')")
    resource = item.get("resource", "*")
    if _text(resource) is None:
        raise fail("'resource' must be a resource id or a glob such as '*'")
    justification = _text(item.get("justification"))
    if justification is None:
        raise fail("'justification' is required")
    raw_expires = item.get("expires")
    if raw_expires is None:
        raise fail("'expires' is required (YYYY-MM-DD)")
    try:
        expires = date.fromisoformat(str(raw_expires).strip())
    except ValueError:
        raise fail(f"'expires' {str(raw_expires)!r} is not a date (YYYY-MM-DD)") from None
    owner = item.get("owner")
    if owner is not None and not isinstance(owner, str):
        raise fail("'owner' must be text")
    return Waiver(rule=rule, resource=resource.strip(), justification=justification, expires=expires,
                  owner=owner, entry=number)


def parse_waivers(items: Any, label: str, known_rules: Iterable[str]) -> list[Waiver]:
    """Validate a ``waivers:`` list (from a waiver file or inline in the config file)."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise InputError(f"{label}: 'waivers' must be a list of entries")
    known = set(known_rules)
    return [parse_waiver(item, number, label, known) for number, item in enumerate(items, start=1)]


def load_waiver_file(path: Path, known_rules: Iterable[str]) -> list[Waiver]:
    data = safe_load_yaml(path, "waiver file")
    if not isinstance(data, dict) or "waivers" not in data:
        raise InputError(f"{path}: a waiver file must be a mapping with a top-level 'waivers:' list")
    unknown = sorted(str(k) for k in data if k != "waivers")
    if unknown:
        raise InputError(f"{path}: unknown top-level key(s) {', '.join(unknown)} (only 'waivers')")
    return parse_waivers(data["waivers"], str(path), known_rules)


def audit_day(collected_at: str) -> date:
    """The day waivers are judged against: the snapshot's collectedAt (UTC), for reproducibility."""
    return date.fromisoformat(collected_at[:10])


def apply_waivers(findings: Sequence[Finding], waivers: Sequence[Waiver], rules: Sequence[RuleOutcome],
                  collected_at: str) -> tuple[list[Finding], WaiverReport]:
    """Findings marked waived (or with their expired waiver), and the entries that need a person."""
    day = audit_day(collected_at)
    matched: dict[int, int] = {}
    marked: list[Finding] = []
    for finding in findings:
        matching = [w for w in waivers if w.matches(finding)]
        for w in matching:
            matched[w.entry] = matched.get(w.entry, 0) + 1
        if not matching:
            marked.append(finding)
            continue
        active = [w for w in matching if not w.expired_on(day)]
        # the first active entry in file order wins; with none active, the first expired one is shown
        chosen = active[0] if active else matching[0]
        marked.append(finding.model_copy(update={"status": "waived" if active else "open",
                                                 "waiver": chosen.ref(expired=not active)}))
    concluded = {r.id for r in rules if r.outcome in ("pass", "fail")}
    report = WaiverReport(
        expired=[w.issue(matched[w.entry]) for w in waivers if w.entry in matched and w.expired_on(day)],
        stale=[w.issue() for w in waivers if w.entry not in matched and w.rule in concluded],
        notRun=[w.issue() for w in waivers if w.entry not in matched and w.rule not in concluded])
    return marked, report
