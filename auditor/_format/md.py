"""``summary.md``: a short summary for a pipeline job summary or a pull-request comment.

Counts and the failing rules with a link to their documentation. No resource names: tenant text
has no place in a PR comment (a guest-chosen display name could carry links or images there).
When ``GITHUB_STEP_SUMMARY`` is set, the same text is appended to it once the file is written.
"""

from __future__ import annotations

import os
from pathlib import Path

from auditor._format.interface import Formatter
from auditor.errors import OutputError
from auditor.gate import GateView, decide_with
from auditor.result import AuditResult
from auditor.severity import SEVERITIES
from auditor.tally import count, rules_line, tally
from auditor.text import for_markdown as md

EMOJI = {"critical": "🟥", "high": "🟧", "medium": "🟨", "low": "🟦", "info": "⬜"}


def render_markdown(result: AuditResult) -> str:
    s = result.summary
    verdict = decide_with(result, GateView.of(result.gate)).verdict
    lines = [
        f"## flowaudit: tenant {md(result.tenantId)}",
        "",
        f"**{md(verdict)}**",
        "",
        f"Snapshot {md(result.collectedAt)} · flowaudit {md(result.tool.version)} · "
        f"**{s.open} open** finding(s), {s.waived} waived",
        "",
        "| Severity | Open | Waived |",
        "|---|---:|---:|",
    ]
    lines += [f"| {EMOJI[sev]} {sev} | {s.openBySeverity.get(sev, 0)} | {s.waivedBySeverity.get(sev, 0)} |"
              for sev in SEVERITIES]
    lines += [f"| **total** | **{s.open}** | **{s.waived}** |", "",
              f"Rules: {rules_line(count(tally(result)))}.", ""]
    if result.baseline is not None:
        lines += [f"Against the baseline: {s.new} new, {s.resolved} resolved, {s.notReassessed} not reassessed.", ""]
    rank = {sev: i for i, sev in enumerate(SEVERITIES)}
    open_counts: dict[str, int] = {}
    for f in result.open_findings():
        open_counts[f.ruleId] = open_counts.get(f.ruleId, 0) + 1
    failing = sorted(result.rules_with("fail"), key=lambda r: (rank.get(r.severity, 9), r.id))
    if failing:
        lines += ["### Failing rules", "", "| Severity | Rule | Open | Docs |", "|---|---|---:|---|"]
        for r in failing:
            url = next((ref.url for ref in r.references if ref.url.startswith("https://")), "")
            link = f"[{md(r.references[0].title)}]({url.replace(')', '%29')})" if url else ""
            lines.append(f"| {EMOJI.get(r.severity, '')} {r.severity} | **{r.id}** {md(r.title)} | "
                         f"{open_counts.get(r.id, 0)} | {link} |")
        lines.append("")
    not_evaluated = result.rules_with("notEvaluated")
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
    try:
        with path.open("ab") as handle:
            handle.write(text if text.endswith(b"\n") else text + b"\n")
    except OSError as exc:
        from auditor._format.output import os_reason

        raise OutputError(f"GITHUB_STEP_SUMMARY ({target}): cannot append the summary: {os_reason(exc)}") from None
    return path


class MarkdownFormat(Formatter):
    filename = "summary.md"

    def format(self, result: AuditResult) -> bytes:
        return render_markdown(result).encode("utf-8")

    def published(self, data: bytes) -> None:
        append_step_summary(data)
