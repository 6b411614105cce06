"""``flowaudit portfolio merge DIR…``: the portfolio of tenant folders audited elsewhere.

Each folder is one tenant's ``flowaudit audit`` output folder (``result.json`` and its reports),
optionally with ``tenant.json`` (its name; written by ``portfolio run``, or by a recipe) and
``exit-code`` (what its audit exited with; the recipes write it). A folder without a readable
result is that tenant's row as *failed*, never a reason to stop: the exit code it recorded (2 or
3), else 2 when its ``result.json`` is not a valid result, else 3 (its audit did not complete).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.errors import EXIT_INCOMPLETE, EXIT_INPUT, InputError
from auditor.portfolio.model import TENANT_FORMAT, TenantRow, WorstFinding, failed_row, tenant_row, worst_of
from auditor.result import load_result

log = logging.getLogger(__name__)
EXIT_CODE_FILE = "exit-code"
TENANT_FILE = "tenant.json"
RESULT_FILE = "result.json"
REPORT_FILE = "report.html"
MAX_SMALL_FILE = 64 * 1024  # tenant.json and exit-code are a few bytes; anything larger is not ours


@dataclass(frozen=True)
class TenantInfo:
    name: str | None = None
    tenant_id: str | None = None
    reason: str | None = None


def relative(folder: Path, out_dir: Path) -> str:
    """The folder as the portfolio's files name it: relative to the portfolio's folder."""
    try:
        return Path(os.path.relpath(folder.resolve(), out_dir.resolve())).as_posix()
    except ValueError:  # another drive (Windows): no relative path exists
        return folder.resolve().as_posix()


def _small_text(path: Path) -> str | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_SMALL_FILE:
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def read_tenant_info(folder: Path) -> TenantInfo:
    """``tenant.json``, when it is there and readable; a bad one is ignored (with a warning), since
    the tenant's result does not depend on it."""
    text = _small_text(folder / TENANT_FILE)
    if text is None:
        return TenantInfo()
    try:
        data: Any = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or data.get("format", TENANT_FORMAT) != TENANT_FORMAT:
        log.warning("%s: not a flowaudit tenant.json; the tenant is named after its result", folder / TENANT_FILE)
        return TenantInfo()

    def string(key: str) -> str | None:
        value = data.get(key)
        return value.strip() or None if isinstance(value, str) else None

    return TenantInfo(name=string("name"), tenant_id=string("tenantId") or string("tenant"), reason=string("reason"))


def recorded_exit_code(folder: Path) -> int | None:
    """The exit code in ``exit-code`` (a number alone on its line), or None."""
    text = _small_text(folder / EXIT_CODE_FILE)
    if text is None:
        return None
    value = text.strip()
    return int(value) if value.isdigit() and len(value) <= 3 else None


def _failure_code(recorded: int | None, default: int) -> int:
    # 2 and 3 say why the audit did not finish; anything else (0 or 1 without a result, 130, 143, a
    # number that means nothing) leaves the default.
    return recorded if recorded in (EXIT_INPUT, EXIT_INCOMPLETE) else default


def read_folder(folder: Path, out_dir: Path) -> tuple[TenantRow, list[WorstFinding]]:
    """One tenant's row (and its worst findings) from its folder; never raises for what is in it."""
    where = relative(folder, out_dir)
    info = read_tenant_info(folder) if folder.is_dir() else TenantInfo()
    fallback_name = info.name or info.tenant_id or folder.name or where
    recorded = recorded_exit_code(folder) if folder.is_dir() else None
    if not folder.is_dir():
        reason = f"{folder}: no such folder" if not folder.exists() else f"{folder}: not a folder"
        return failed_row(name=fallback_name, tenant_id=info.tenant_id, folder=where,
                          exit_code=_failure_code(recorded, EXIT_INCOMPLETE), reason=reason), []
    result_path = folder / RESULT_FILE
    if not result_path.exists():
        said = f"its audit exited {recorded}" if recorded is not None else "no exit code recorded"
        reason = info.reason or f"no {RESULT_FILE} in {folder} ({said})"
        return failed_row(name=fallback_name, tenant_id=info.tenant_id, folder=where,
                          exit_code=_failure_code(recorded, EXIT_INCOMPLETE), reason=reason), []
    try:
        result = load_result(result_path)
    except InputError as exc:
        return failed_row(name=fallback_name, tenant_id=info.tenant_id, folder=where, exit_code=EXIT_INPUT,
                          reason=str(exc)), []
    report = f"{where}/{REPORT_FILE}" if (folder / REPORT_FILE).is_file() else None
    row = tenant_row(result, name=info.name or result.tenantId, folder=where, report=report)
    return row, worst_of(result, row)
