"""Options behave the same everywhere, through the real console script: short and long names, case,
FLOWAUDIT_* variables (typos reported, bad values named by the variable), config keys, help text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from console_support import run
from graphdata import write_snapshot

from auditor.cli import cli
from auditor.environment import READ_BY_RECIPES, READ_DIRECTLY, known_variables, option_variables

pytestmark = pytest.mark.usefixtures("clean_flowaudit_env")
ROOT = Path(__file__).resolve().parents[1]
NAME = re.compile(r"\bFLOWAUDIT_[A-Z0-9_]*[A-Z0-9]\b")


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    return write_snapshot(tmp_path / "snap")  # the quiet tenant: SSU002 (low) fails


def test_audit_takes_dash_o_like_collect(tmp_path: Path, snapshot: Path) -> None:
    proc = run("audit", "--snapshot", str(snapshot), "-o", str(tmp_path / "short"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "short" / "result.json").is_file()


@pytest.mark.parametrize("value", ["LOW", "Low", "low"])
def test_fail_on_is_case_insensitive(tmp_path: Path, snapshot: Path, value: str) -> None:
    proc = run("audit", "--snapshot", str(snapshot), "--fail-on", value, "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines()[-1].startswith("FAIL: 1 open finding at or above low")
    env = run("audit", "--snapshot", str(snapshot), "-o", str(tmp_path / "e"), cwd=tmp_path,
              env={"FLOWAUDIT_FAIL_ON": value})
    assert env.returncode == 1


def test_a_mistyped_variable_is_reported_with_the_name_meant(tmp_path: Path, snapshot: Path) -> None:
    proc = run("audit", "--snapshot", str(snapshot), "-o", str(tmp_path / "o"), cwd=tmp_path,
               env={"FLOWAUDIT_FAILON": "low", "FLOWAUDIT_COMPLETELY_OTHER": "1"})
    assert proc.returncode == 0  # ignored: the default gate (high) applies, and the user is told
    assert ("flowaudit: WARNING: unknown environment variable FLOWAUDIT_FAILON (did you mean FLOWAUDIT_FAIL_ON?); "
            "it is ignored") in proc.stderr.splitlines()
    assert ("flowaudit: WARNING: unknown environment variable FLOWAUDIT_COMPLETELY_OTHER; it is ignored"
            in proc.stderr.splitlines())


def test_known_variables_raise_no_warning(tmp_path: Path, snapshot: Path) -> None:
    env = {name: "" for name in READ_DIRECTLY} | {"FLOWAUDIT_KEEP_NIGHTS": "90", "FLOWAUDIT_FAIL_ON": "high"}
    proc = run("audit", "--snapshot", str(snapshot), "-o", str(tmp_path / "o"), cwd=tmp_path, env=env)
    assert proc.returncode == 0 and "unknown environment variable" not in proc.stderr


def test_every_variable_the_code_reads_is_known() -> None:
    # A FLOWAUDIT_ name written anywhere in the package (an option's envvar, os.environ, a docstring
    # example) must be known, or the warning would tell users to drop a variable that works.
    written = {name for path in (ROOT / "auditor").rglob("*.py") for name in NAME.findall(path.read_text("utf-8"))}
    known = known_variables(cli)
    assert written - known == set()
    assert {"FLOWAUDIT_FAIL_ON", "FLOWAUDIT_OUTPUT_DIR", "FLOWAUDIT_CONFIG", "FLOWAUDIT_OUTPUT"} <= option_variables(cli)
    assert {"FLOWAUDIT_ACCESS_TOKEN", "FLOWAUDIT_SIGNIN_RATE", "FLOWAUDIT_MAX_IN_FLIGHT"} <= set(READ_DIRECTLY)


def test_every_variable_the_recipes_set_is_known() -> None:
    # The recipe wrappers run flowaudit with their own variables in its environment.
    written = {name for path in (ROOT / "docs" / "recipes").rglob("*") if path.is_file()
               for name in NAME.findall(path.read_text("utf-8", errors="replace"))}
    assert written - known_variables(cli) == set(), "add recipe-only variables to READ_BY_RECIPES"
    assert set(READ_BY_RECIPES) <= written, "a variable no recipe uses any more"


@pytest.mark.parametrize("variable, value, fragment", [
    ("FLOWAUDIT_FAIL_ON", "severe", "'severe' is not one of"),
    ("FLOWAUDIT_SIGNIN_DAYS", "99", "99 is not in the range"),
    ("FLOWAUDIT_REQUIRE_COMPLETE", "maybe", "'maybe' is not a valid boolean"),
    ("FLOWAUDIT_FORMAT", "docx", "unknown format(s) docx"),
    ("FLOWAUDIT_RULES", "XYZ999", "unknown rule id(s) XYZ999"),
])
def test_a_bad_value_from_the_environment_names_the_variable(tmp_path: Path, snapshot: Path, variable: str,
                                                             value: str, fragment: str) -> None:
    proc = run("audit", "--snapshot", str(snapshot), "-o", str(tmp_path / "o"), cwd=tmp_path, env={variable: value})
    assert proc.returncode == 2, proc.stderr
    assert variable in proc.stderr and fragment in proc.stderr
    flag = "--" + variable.removeprefix("FLOWAUDIT_").lower().replace("_", "-")
    assert flag not in proc.stderr.replace("flowaudit audit -h", "")  # the usage hint may name -h
    assert "Traceback" not in proc.stderr


def test_a_bad_value_on_the_command_line_still_names_the_flag(tmp_path: Path, snapshot: Path) -> None:
    proc = run("audit", "--snapshot", str(snapshot), "--fail-on", "severe", cwd=tmp_path)
    assert proc.returncode == 2 and "'--fail-on'" in proc.stderr and "FLOWAUDIT_FAIL_ON" not in proc.stderr


def _result(path: Path, tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / path
    run("audit", *extra, "-o", str(out), "--fail-on", "none", cwd=tmp_path)
    return out / "result.json"


def test_fail_on_from_the_environment_applies_to_diff(tmp_path: Path, snapshot: Path) -> None:
    old = _result(Path("old"), tmp_path, "--snapshot", str(snapshot), "--rules", "SSU001")
    new = _result(Path("new"), tmp_path, "--snapshot", str(snapshot))  # SSU002 (low) is new
    assert run("diff", str(old), str(new), cwd=tmp_path).returncode == 0
    gated = run("diff", str(old), str(new), cwd=tmp_path, env={"FLOWAUDIT_FAIL_ON": "low"})
    assert gated.returncode == 1 and "SSU002" in gated.stderr
    assert run("diff", str(old), str(new), "--fail-on", "LOW", cwd=tmp_path).returncode == 1


def test_config_keys_rules_and_skip_rules_work_like_the_flags(tmp_path: Path, snapshot: Path) -> None:
    def ran(config: str) -> list[str]:
        (tmp_path / "flowaudit.yaml").write_text(config)
        proc = run("audit", "--snapshot", str(snapshot), "-o", str(tmp_path / "o"), cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        return [r["id"] for r in json.loads((tmp_path / "o" / "result.json").read_text())["rules"]]

    assert ran("rules: [SSU001, SSU002]\n") == ["SSU001", "SSU002"]
    assert "SSU002" not in ran("skip-rules: [SSU002]\n")
    assert len(ran("skip-rules: SSU002,SSU001\n")) == len(ran("{}\n")) - 2


def test_config_show_for_collect_needs_no_output(tmp_path: Path) -> None:
    proc = run("config", "show", "--for", "collect", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()[2:] if line.strip()}
    assert rows["output"].endswith("not set (required to run the command)")
    assert rows["auth"].split()[1:] == ["default", "default"]
    shown = run("config", "show", "--for", "collect", "-o", "snap.zip", "--json", cwd=tmp_path)
    output = next(r for r in json.loads(shown.stdout)["settings"] if r["key"] == "output")
    assert output == {"key": "output", "value": "snap.zip", "source": "command line"}


@pytest.mark.parametrize("group", [[], ["rules"], ["config"]])
def test_command_lists_show_whole_short_help(tmp_path: Path, group: list[str]) -> None:
    proc = run(*group, "--help", cwd=tmp_path, env={"COLUMNS": "80"})
    assert proc.returncode == 0
    listed = proc.stdout.split("Commands:\n", 1)[1]
    assert "..." not in listed
    command = cli
    for name in group:
        command = command.commands[name]  # type: ignore[attr-defined]
    for name, sub in command.commands.items():  # type: ignore[attr-defined]
        assert sub.short_help, f"{name} has no short help"
        line = next(line for line in listed.splitlines() if line.split()[:1] == [name])
        assert line.split(None, 1)[1] == sub.short_help
