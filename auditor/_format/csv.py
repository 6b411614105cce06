"""``findings.csv``: one row per finding (waived ones included), for spreadsheets and GRC tools.

Written with the standard library's csv writer (RFC 4180: comma-separated, fields with commas,
quotes quoted, CRLF line ends), UTF-8 with a byte-order mark so Excel opens it as
UTF-8 rather than the Windows code page.

CSV/formula injection: tenant text (display names are chosen by guests themselves) could start a
cell with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, which a spreadsheet would run as a
formula (``=HYPERLINK(...)``, DDE). Every such cell gets a leading apostrophe, which makes the
spreadsheet show the text as typed and never evaluate it; the apostrophe is visible in a plain
text reader, which is the lesser harm. Line breaks inside a value become one space first (one
line per cell), then the guard applies. Secrets are redacted like everywhere else.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from auditor._format.interface import Formatter
from auditor.gate import GateView
from auditor.redact import scrub
from auditor.result import AuditResult, Finding, RuleOutcome

COLUMNS = ("tenantId", "collectedAt", "ruleId", "ruleTitle", "severity", "status", "gating", "baseline",
           "resourceType", "resourceId", "resourceName", "message", "frameworks", "waiverJustification",
           "waiverOwner", "waiverExpires", "waiverExpired", "remediation", "fingerprint")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_LINE_BREAKS = re.compile(r"[ \t]*[\r\n]+[ \t]*")


def cell(value: Any) -> str:
    """One cell as text that a spreadsheet shows and never evaluates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    # one line per cell: the rule texts are hard-wrapped YAML, and a row per line is easier to filter
    text = _LINE_BREAKS.sub(" ", str(scrub(str(value))))
    return "'" + text if text.startswith(_FORMULA_START) else text


def _frameworks(rule: RuleOutcome | None) -> str:
    if rule is None:
        return ""
    return "; ".join(f"{name}: {', '.join(ids)}" for name, ids in sorted(rule.frameworks.items()))


def _row(result: AuditResult, gate: GateView, f: Finding, rule: RuleOutcome | None) -> list[str]:
    remediation = f.remediation or (rule.remediation if rule else None)
    waiver = f.waiver
    return [cell(v) for v in (
        result.tenantId, result.collectedAt, f.ruleId, f.title, f.severity, f.status, gate.gates(f), f.baseline or "", f.resource.type, f.resource.id, f.resource.displayName or "", f.message,
        _frameworks(rule), waiver.justification if waiver else "", waiver.owner if waiver else "",
        waiver.expires if waiver else "", (waiver.expired if waiver else ""), remediation.portal if remediation else "", f.fingerprint)]


def render_csv(result: AuditResult) -> str:
    gate = GateView.of(result.gate)
    rules = {r.id: r for r in result.rules}
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for f in result.findings:  # already in the result's deterministic order
        writer.writerow(_row(result, gate, f, rules.get(f.ruleId)))
    return out.getvalue()


class CsvFormat(Formatter):
    filename = "findings.csv"

    def format(self, result: AuditResult) -> bytes:
        return render_csv(result).encode("utf-8-sig")
