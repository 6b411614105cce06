"""Counts from a flowaudit result.json as GitHub step outputs (``key=value`` lines on stdout)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

SEVERITIES = ("critical", "high", "medium", "low", "info")


def outputs(result: dict) -> dict[str, int]:
    summary = result.get("summary", {})
    by_severity = summary.get("openBySeverity", {})
    counts = {
        "findings": summary.get("findings", 0),
        "open": summary.get("open", 0),
        "waived": summary.get("waived", 0),
        "new": summary.get("new", 0),
        "resolved": summary.get("resolved", 0),
        "not-evaluated": summary.get("rules", {}).get("notEvaluated", 0),
    }
    counts.update({severity: by_severity.get(severity, 0) for severity in SEVERITIES})
    return {key: int(value) for key, value in counts.items()}


def main(argv: list[str]) -> int:
    result = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    for key, value in outputs(result).items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
