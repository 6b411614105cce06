"""``result.json``: the audit result itself (the input of ``report``, ``diff`` and ``plan``)."""

from __future__ import annotations

from auditor._format.interface import Formatter
from auditor.result import AuditResult, to_json


class JsonFormat(Formatter):
    filename = "result.json"

    def format(self, result: AuditResult) -> bytes:
        return to_json(result).encode("utf-8")
