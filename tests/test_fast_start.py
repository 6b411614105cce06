"""Fast start: help, the rule list and an offline audit never import the Graph SDK or WeasyPrint.

Each command runs in a fresh interpreter whose exit hook dumps ``sys.modules``; what was imported
is what the user paid for at start-up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY_PREFIXES = ("msgraph", "azure", "kiota", "weasyprint")

_PROBE = """
import atexit, json, os, sys
def _dump():
    with open(os.environ["FLOWAUDIT_MODULES_OUT"], "w", encoding="utf-8") as handle:
        json.dump(sorted(sys.modules), handle)
atexit.register(_dump)
sys.argv = ["flowaudit", *json.loads(os.environ["FLOWAUDIT_PROBE_ARGS"])]
from auditor.cli import main
main()
"""


def imported_modules(args: list[str], tmp_path: Path) -> tuple[int, set[str]]:
    out = tmp_path / "modules.json"
    env = {**os.environ, "FLOWAUDIT_MODULES_OUT": str(out), "FLOWAUDIT_PROBE_ARGS": json.dumps(args)}
    proc = subprocess.run([sys.executable, "-c", _PROBE], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    return proc.returncode, set(json.loads(out.read_text(encoding="utf-8")))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0].startswith(HEAVY_PREFIXES))


@pytest.mark.parametrize("args", [
    ["--help"],
    ["rules", "list"],
    ["audit", "--sample", "clean", "--format", "json", "--output-dir", "out", "--fail-on", "none"],
], ids=["help", "rules-list", "offline-audit"])
def test_command_does_not_import_graph_sdk_or_weasyprint(args: list[str], tmp_path: Path) -> None:
    code, modules = imported_modules(args, tmp_path)
    assert code == 0
    assert "auditor.cli" in modules and "click" in modules  # the probe really saw the CLI run
    assert heavy(modules) == []


def test_offline_audit_really_audited(tmp_path: Path) -> None:
    code, modules = imported_modules(["audit", "--sample", "clean", "--format", "json", "--output-dir", "out",
                                      "--fail-on", "none"], tmp_path)
    assert code == 0
    assert "auditor.engine" in modules
    result = json.loads((tmp_path / "out" / "result.json").read_text(encoding="utf-8"))
    assert result["format"] == "flowaudit-result" and result["rules"]


def test_probe_detects_a_heavy_import() -> None:
    # Guard against a probe that could never fail: the prefix filter recognises the real module names.
    assert heavy({"click", "msgraph.graph_service_client", "azure.identity", "kiota_abstractions",
                  "weasyprint"}) == ["azure.identity", "kiota_abstractions", "msgraph.graph_service_client",
                                     "weasyprint"]


def test_plan_show_and_the_apply_dry_run_import_no_graph_sdk(tmp_path: Path) -> None:
    # Only `apply --yes` talks to Graph; planning, showing and the dry run are offline commands.
    audit = subprocess.run([sys.executable, "-m", "auditor", "audit", "--sample", "fabrikam", "--format", "json",
                            "--output-dir", "out", "--fail-on", "none", "-q"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=120)
    assert audit.returncode == 0, audit.stderr
    for args, proof in ((["plan", "out/result.json", "--sample", "fabrikam", "-o", "plan.json"], "auditor.plan.build"),
                        (["plan", "show", "plan.json"], "auditor.plan.render"),
                        (["apply", "plan.json"], "auditor.plan.render")):
        code, modules = imported_modules(args, tmp_path)
        assert code == 0, args
        assert proof in modules, args  # the probe really saw the command run
        assert heavy(modules) == [] and "httpx" not in modules, args
    assert (tmp_path / "plan.json").is_file()
