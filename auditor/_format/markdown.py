"""``summary.md``: a short summary for a pipeline job summary or a pull-request comment.

Counts and the failing rules with a link to their documentation. No resource names: tenant text
has no place in a PR comment (a guest-chosen display name could carry links or images there).
When ``GITHUB_STEP_SUMMARY`` is set, :func:`append_step_summary` appends the same text to it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from auditor._format.interface import Formatter
from auditor.catalog import SEVERITIES
from auditor.redact import scrub
from auditor.result import AuditResult

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")
EMOJI = {"critical": "🟥", "high": "🟧", "medium": "🟨", "low": "🟦", "info": "⬜"}


def md(text: object) -> str:
    """Plain text safe inside Markdown (and a table cell): no markup, links, images or HTML."""
    flat = " ".join(str(scrub(str(text))).split())
    return _SPECIAL.sub(r"\\\1", flat)


def render_markdown(result: AuditResult) -> str:
    s = result.summary or {}
    open_by, waived_by = s.get("openBySeverity") or {}, s.get("waivedBySeverity") or {}
    rules = {o: sum(1 for r in result.rules if r.outcome == o) for o in ("pass", "fail", "notEvaluated", "notApplicable")}
    lines = [
        f"## flowaudit: tenant {md(result.tenantId)}",
        "",
        f"Snapshot {md(result.collectedAt)} · flowaudit {md(result.tool.get('version', ''))} · "
        f"**{s.get('open', 0)} open** finding(s), {s.get('waived', 0)} waived",
        "",
        "| Severity | Open | Waived |",
        "|---|---:|---:|",
    ]
    lines += [f"| {EMOJI[sev]} {sev} | {open_by.get(sev, 0)} | {waived_by.get(sev, 0)} |" for sev in SEVERITIES]
    lines += [f"| **total** | **{s.get('open', 0)}** | **{s.get('waived', 0)}** |", "",
              f"Rules: {rules['fail']} failed, {rules['pass']} passed, {rules['notEvaluated']} not evaluated, "
              f"{rules['notApplicable']} not applicable.", ""]
    if s.get("new") or s.get("resolved"):
        lines += [f"Against the baseline: {s.get('new', 0)} new, {s.get('resolved', 0)} resolved.", ""]
    rank = {sev: i for i, sev in enumerate(SEVERITIES)}
    open_counts: dict[str, int] = {}
    for f in result.findings:
        if f.status == "open":
            open_counts[f.ruleId] = open_counts.get(f.ruleId, 0) + 1
    failing = sorted((r for r in result.rules if r.outcome == "fail"), key=lambda r: (rank.get(r.severity, 9), r.id))
    if failing:
        lines += ["### Failing rules", "", "| Severity | Rule | Open | Docs |", "|---|---|---:|---|"]
        for r in failing:
            url = next((ref.get("url", "") for ref in r.references if ref.get("url", "").startswith("https://")), "")
            link = f"[{md(r.references[0].get('title', 'docs'))}]({url.replace(')', '%29')})" if url else ""
            lines.append(f"| {EMOJI.get(r.severity, '')} {r.severity} | **{r.id}** {md(r.title)} | "
                         f"{open_counts.get(r.id, 0)} | {link} |")
        lines.append("")
    not_evaluated = [r for r in result.rules if r.outcome == "notEvaluated"]
    if not_evaluated:
        lines += ["### Not evaluated", ""]
        lines += [f"- **{r.id}** {md(r.title)}: {md(r.reason or 'no reason recorded')}" for r in not_evaluated]
        lines.append("")
    return "\n".join(lines)


def append_step_summary(text: bytes) -> Path | None:
    """Append the summary to GitHub Actions' job summary when running there."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    with path.open("ab") as handle:
        handle.write(text if text.endswith(b"\n") else text + b"\n")
    return path


class MarkdownFormat(Formatter):
    filename = "summary.md"

    def format(self, result: AuditResult) -> bytes:
        return render_markdown(result).encode("utf-8")
