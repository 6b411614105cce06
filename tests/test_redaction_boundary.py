"""Every output redacts what it reads, whatever the result file says.

A result.json is a file a user can edit (or a tool can write): `report` and `diff` must not trust it
to be clean. Secrets are planted in every free-text field of a real result — spaced from the text
and glued to it — and every format `report` writes, and every format of `diff`, is read back.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from console_support import FLOWAUDIT

from auditor._format.registry import FORMAT_NAMES

SIG, CODE = "PlantedSig789", "PlantedCode012"
SECRET_URL = f"https://evil.example/hook?sig={SIG}&code={CODE}"


def _planted(text: str, glued: bool) -> str:
    return f"{text}{SECRET_URL}" if glued else f"{text} {SECRET_URL}"


def _poison(value: Any, glued: bool) -> Any:
    if isinstance(value, dict):
        return {k: _poison(v, glued) for k, v in value.items()}
    if isinstance(value, list):
        return [_poison(v, glued) for v in value]
    return _planted(value, glued) if isinstance(value, str) and value else value


@pytest.fixture(scope="module")
def clean_result(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("audit")
    proc = subprocess.run([FLOWAUDIT, "audit", "--sample", "contoso", "--format", "json", "--output-dir", str(out),
                           "--fail-on", "none", "-q"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return out / "result.json"


def _poisoned(clean: Path, where: Path, glued: bool) -> Path:
    data = json.loads(clean.read_text())
    for finding in data["findings"][:5]:
        for key in ("message", "title"):
            finding[key] = _planted(finding[key], glued)
        finding["resource"]["id"] = _planted(finding["resource"]["id"], glued)
        finding["resource"]["displayName"] = _planted(finding["resource"].get("displayName") or "x", glued)
        finding["evidence"] = _poison(finding.get("evidence"), glued)
    for rule in data["rules"][:5]:
        rule["title"] = _planted(rule["title"], glued)
        rule["reason"] = _planted(rule.get("reason") or "r", glued)
    path = where / "result.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _leaks(text: str) -> list[str]:
    return [s for s in (SIG, CODE) if s in text]


@pytest.mark.parametrize("glued", [False, True], ids=["spaced", "glued"])
def test_report_writes_no_planted_secret_in_any_format(clean_result: Path, tmp_path: Path, glued: bool) -> None:
    result = _poisoned(clean_result, tmp_path, glued)
    out = tmp_path / "report"
    proc = subprocess.run([FLOWAUDIT, "report", str(result), "--format", ",".join(FORMAT_NAMES), "--output-dir",
                           str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    written = sorted(p for p in out.iterdir() if not p.name.startswith("."))
    assert len(written) == len(FORMAT_NAMES)
    for path in written:
        if path.suffix == ".pdf":
            text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
            assert "evil.example" in text.replace("\n", "")  # the planted URL is shown, only its secrets are not
        else:
            text = path.read_text(encoding="utf-8")
        assert not _leaks(text), f"{path.name} carries a planted secret"
    assert not _leaks(proc.stdout + proc.stderr)


@pytest.mark.parametrize("fmt", ["table", "json", "md"])
def test_diff_prints_no_planted_secret(clean_result: Path, tmp_path: Path, fmt: str) -> None:
    result = _poisoned(clean_result, tmp_path, glued=True)
    proc = subprocess.run([FLOWAUDIT, "diff", str(clean_result), str(result), "--format", fmt, "--fail-on", "none"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "evil.example" in proc.stdout and not _leaks(proc.stdout + proc.stderr)
