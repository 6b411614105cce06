from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from graphdata import write_snapshot

from auditor.engine import AuditOptions, run_audit
from auditor.result import AuditResult
from auditor.snapshot import open_snapshot

# Every file a test reads is inside the repository (tests/data/README.md says where each came from).
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def audit_rule(tmp_path: Path):
    """Build a snapshot from the given sources and audit one rule; returns (outcome, findings)."""
    counter = [0]

    def run(rule_id: str, parameters: dict | None = None, **sources):
        counter[0] += 1
        path = write_snapshot(tmp_path / f"snap{counter[0]}", **sources)
        result: AuditResult = run_audit(open_snapshot(path), AuditOptions(
            only={rule_id}, parameters={rule_id: parameters} if parameters else {}))
        outcome = result.rule(rule_id)
        return outcome, [f for f in result.findings if f.ruleId == rule_id]

    return run


@pytest.fixture
def clean_flowaudit_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No FLOWAUDIT_* variable from the caller's shell, and a cwd without a flowaudit.yaml."""
    for name in list(os.environ):
        if name.startswith("FLOWAUDIT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def recording_server():
    """A live local HTTP server that records every request: proves a renderer fetched nothing."""
    from report_support import RecordingServer

    server = RecordingServer()
    yield server
    server.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    # `make test` runs `pytest -q`, which hides the header where pytest-randomly names its seed: say
    # it last, beside the result, so a failure seen once in CI can be replayed in the same order.
    seed = getattr(config.option, "randomly_seed", None)
    if isinstance(seed, int):
        terminalreporter.write_line(f"test order: --randomly-seed={seed} (pass it to pytest to replay this order)")
