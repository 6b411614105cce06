"""Config file through the real CLI: four-layer precedence, rule settings, unknown keys, `config show`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from graphdata import write_snapshot

from auditor.catalog import load_catalog
from auditor.cli import cli

pytestmark = pytest.mark.usefixtures("clean_flowaudit_env")


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    return write_snapshot(tmp_path / "snap")  # SSU002 (low) fails


def invoke(args: list[str], env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, args, env=env)


def audit(snapshot: Path, *extra: str, env: dict[str, str] | None = None):
    return invoke(["audit", "--snapshot", str(snapshot), "--rules", "SSU002", "-q", *extra], env=env)


def show(*args: str, env: dict[str, str] | None = None) -> dict[str, dict]:
    run = invoke(["config", "show", "--json", *args], env=env)
    assert run.exit_code == 0, run.output
    return {row["key"]: row for row in json.loads(run.stdout)["settings"]}


def test_precedence_default_config_environment_command_line(tmp_path, snapshot):
    # default: --fail-on high, SSU002 is low -> exit 0
    assert audit(snapshot).exit_code == 0
    assert show()["fail-on"] == {"key": "fail-on", "value": "high", "source": "default"}
    # config file (./flowaudit.yaml, found in the cwd): fail-on low -> exit 1
    (tmp_path / "flowaudit.yaml").write_text("fail-on: low\n")
    assert audit(snapshot).exit_code == 1
    assert show()["fail-on"] == {"key": "fail-on", "value": "low", "source": "config file flowaudit.yaml"}
    # environment beats the file -> exit 0
    env = {"FLOWAUDIT_FAIL_ON": "critical"}
    assert audit(snapshot, env=env).exit_code == 0
    assert show(env=env)["fail-on"] == {"key": "fail-on", "value": "critical",
                                        "source": "environment FLOWAUDIT_FAIL_ON"}
    # command line beats the environment -> exit 1
    assert audit(snapshot, "--fail-on", "info", env=env).exit_code == 1
    assert show("--fail-on", "info", env=env)["fail-on"] == {"key": "fail-on", "value": "info",
                                                             "source": "command line"}


def test_config_file_from_option_and_environment(tmp_path, snapshot):
    config = tmp_path / "conf" / "nightly.yaml"
    config.parent.mkdir()
    config.write_text("fail-on: low\nformat: [json, md]\noutput-dir: reports\nrequire-complete: true\n")
    for extra, env in (((("--config", str(config))), None), ((), {"FLOWAUDIT_CONFIG": str(config)})):
        settings = show(*extra, env=env)
        assert settings["fail-on"]["value"] == "low"
        assert settings["format"]["value"] == "json,md"
        assert settings["require-complete"]["value"] is True
        # relative paths in the file are relative to the file
        assert settings["output-dir"]["value"] == str(config.parent / "reports")
        assert settings["output-dir"]["source"] == f"config file {config}"
    run = audit(snapshot, "--config", str(config), "--format", "json")  # other formats may not be built yet
    assert run.exit_code == 1  # fail-on low from the file
    assert (config.parent / "reports" / "result.json").exists()


def test_missing_explicit_config_exits_2(tmp_path, snapshot):
    run = audit(snapshot, "--config", str(tmp_path / "nope.yaml"))
    assert run.exit_code == 2 and "nope.yaml" in run.stderr and "not found" in run.stderr


@pytest.mark.parametrize("content, expected", [
    ("fail-on: low\ncolour: blue\n", "unknown key 'colour'"),
    ("fail_on: low\n", "unknown key 'fail_on' (write it as on the command line: 'fail-on')"),
    ("config: other.yaml\n", "key 'config' is not allowed"),
    ("skip-rules: [NOPE01]\n", "skip-rules: unknown rule id(s) NOPE01"),
    ("rules: {enable: [SSU001, SSU002], disable: [SSU002]}\n", "SSU002 are both enabled and disabled"),
    ("fail-on: severe\n", "'fail-on'"),
    ("require-complete: yes please\n", "expected true or false"),
    ("rules: {enable: [SSU002], turn_off: [SSU001]}\n", "unknown key 'rules.turn_off'"),
    ("rules: {disable: [NOPE01]}\n", "unknown rule id(s) NOPE01"),
    ("rules: {severity: {SSU002: urgent}}\n", "rules.severity.SSU002"),
    ("rules: {severity: {XYZ999: high}}\n", "unknown rule id(s) XYZ999"),
    ("rules: {parameters: {SSU002: {days: 3}}}\n", "rule SSU002 has no parameter 'days'"),
    ("rules: {parameters: {GST001: {days: -3}}}\n", "GST001.days: must be at least 0"),
    ("rules: {parameters: {GST001: {days: ninety}}}\n", "GST001.days: expected a whole number"),
    ("- fail-on: low\n", "must be a YAML mapping"),
    ("fail-on: [low\n", "invalid YAML"),
])
def test_bad_config_exits_2_naming_key_and_file(tmp_path, snapshot, content, expected):
    (tmp_path / "flowaudit.yaml").write_text(content)
    run = audit(snapshot)
    assert run.exit_code == 2, run.output
    line = run.stderr.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in run.output
    assert "flowaudit.yaml" in line and expected in line
    assert invoke(["config", "show"]).exit_code == 2  # config show validates the same way


def test_config_that_selects_no_rule_exits_2_naming_the_file(tmp_path, snapshot):
    (tmp_path / "flowaudit.yaml").write_text("rules: {enable: [SSU001], disable: [SSU002]}\n")
    run = invoke(["audit", "--snapshot", str(snapshot), "--skip-rules", "SSU001"])
    assert run.exit_code == 2
    assert "no rule selected" in run.stderr and "config file flowaudit.yaml" in run.stderr


def test_severity_override_changes_the_gate(tmp_path, snapshot):
    (tmp_path / "flowaudit.yaml").write_text("rules:\n  severity: {SSU002: high}\n")
    run = audit(snapshot, "--output-dir", "out")
    assert run.exit_code == 1  # now high, the default --fail-on
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert [f["severity"] for f in result["findings"]] == ["high"]
    assert show()["rules.severity.SSU002"]["value"] == "high"


def test_rules_enable_and_disable(tmp_path, snapshot):
    (tmp_path / "flowaudit.yaml").write_text("rules:\n  enable: [SSU001, SSU002, IDP001]\n  disable: [IDP001]\n")
    assert audit(snapshot).exit_code == 2  # the same rule enabled and disabled is a contradiction
    (tmp_path / "flowaudit.yaml").write_text("rules: [SSU001, SSU002]\nskip-rules: [SSU002]\n")
    assert audit(snapshot).exit_code == 2  # the --rules / --skip-rules spelling, same check
    (tmp_path / "flowaudit.yaml").write_text("rules: [SSU001, SSU002]\n")
    run = invoke(["audit", "--snapshot", str(snapshot), "--fail-on", "low", "--output-dir", "out", "-q",
                  "--skip-rules", "SSU002"])
    assert run.exit_code == 0
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert [r["id"] for r in result["rules"]] == ["SSU001"]
    # the command line still wins over the file's rule selection
    run = invoke(["audit", "--snapshot", str(snapshot), "--fail-on", "low", "--output-dir", "out", "-q",
                  "--rules", "SSU002", "--skip-rules", "SSU001"])
    assert run.exit_code == 1


def test_rule_parameters_reach_the_rule(tmp_path, snapshot):
    with_params = [r for r in load_catalog() if r.parameters]
    if not with_params:
        pytest.skip("no rule with parameters in the catalog yet")
    rule = with_params[0]
    name, definition = next(iter(rule.parameters.items()))
    value = definition.default + 7 if isinstance(definition.default, int) else definition.default
    (tmp_path / "flowaudit.yaml").write_text(f"rules:\n  parameters:\n    {rule.id}:\n      {name}: {value!r}\n")
    run = invoke(["audit", "--snapshot", str(snapshot), "--rules", rule.id, "--fail-on", "none",
                  "--output-dir", "out", "-q"])
    assert run.exit_code == 0, run.output
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["rules"][0]["parameters"][name] == value
    assert show()[f"rules.parameters.{rule.id}.{name}"]["value"] == value


def test_waiver_file_path_from_config_is_relative_to_it(tmp_path, snapshot):
    conf_dir = tmp_path / "etc"
    conf_dir.mkdir()
    (conf_dir / "waivers.yaml").write_text(
        "waivers:\n  - rule: SSU002\n    justification: ok\n    expires: 2027-01-01\n")
    (conf_dir / "flowaudit.yaml").write_text("waivers: waivers.yaml\nfail-on: low\n")
    run = audit(snapshot, "--config", str(conf_dir / "flowaudit.yaml"))
    assert run.exit_code == 0, run.output


def test_config_show_table_names_every_source(tmp_path):
    (tmp_path / "flowaudit.yaml").write_text("fail-on: low\n")
    run = invoke(["config", "show", "--format", "md"], env={"FLOWAUDIT_OUTPUT_DIR": "/srv/out"})
    assert run.exit_code == 0, run.output
    lines = {line.split()[0]: line for line in run.stdout.splitlines()[2:] if line.strip()}
    assert lines["fail-on"].endswith("config file flowaudit.yaml")
    assert lines["output-dir"].endswith("environment FLOWAUDIT_OUTPUT_DIR")
    assert lines["format"].split()[1:] == ["md", "command", "line"]
    assert lines["cloud"].endswith("default")
    assert run.stdout.startswith("config file: flowaudit.yaml (from ./flowaudit.yaml)")


def test_collect_options_come_from_the_same_file(tmp_path):
    # one file for the nightly job: collect-only keys are ignored by audit and vice versa
    (tmp_path / "flowaudit.yaml").write_text("auth: managed-identity\nsignin-days: 7\nfail-on: low\n"
                                              "output: snapshots/tonight.zip\n")
    collect = show("--for", "collect")
    assert collect["auth"] == {"key": "auth", "value": "managed-identity", "source": "config file flowaudit.yaml"}
    assert collect["signin-days"]["value"] == 7
    assert collect["output"]["value"] == "snapshots/tonight.zip"
    assert "fail-on" not in collect
    assert show()["fail-on"]["value"] == "low" and "output" not in show()
    run = invoke(["collect", "--help"])
    assert run.exit_code == 0 and "--config" in run.stdout
