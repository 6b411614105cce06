"""The pipeline recipes in docs/recipes are valid and only use options the real CLI has."""

from __future__ import annotations

import functools
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

RECIPES = Path(__file__).resolve().parents[1] / "docs" / "recipes"
WORKFLOWS = ["github-actions.yml", "azure-pipelines.yml"]
SHELL_FILES = ["systemd/flowaudit-nightly.sh", "systemd/flowaudit.cron", "systemd/flowaudit-nightly.service"]


def strings_in(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings_in(value)]
    if isinstance(node, list):
        return [s for item in node for s in strings_in(item)]
    return []


def join_continuations(text: str) -> list[str]:
    return re.sub(r"\\\n\s*", " ", text).splitlines()


def flowaudit_commands(text: str) -> list[list[str]]:
    """Every `flowaudit ...` invocation: the tokens after the program name (not `pip install flowaudit`)."""
    commands = []
    for line in join_continuations(text):
        line = line.split(" #", 1)[0]
        if "flowaudit" not in line or line.lstrip().startswith("#"):
            continue
        try:
            tokens = shlex.split(line, comments=False, posix=True)
        except ValueError:
            continue
        for i, token in enumerate(tokens):
            if Path(token).name == "flowaudit" and (i == 0 or tokens[i - 1] not in ("install", "--user", "-u")):
                rest = []
                for t in tokens[i + 1:]:
                    if t in ("|", "||", "&&", ";", ">", ">>") or t.startswith((">", "2>")):
                        break
                    rest.append(t)
                if rest and re.fullmatch(r"[a-z]+", rest[0]):
                    commands.append(rest)
    return commands


def options_passed_indirectly(text: str) -> set[str]:
    """Options collected in a shell array or `set --` and then passed to `flowaudit audit`."""
    found = set()
    for line in join_continuations(text):
        if re.search(r"\w=\(|\bset -- ", line):
            found |= set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", line))
    return found


@functools.cache
def help_text(*subcommand: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWAUDIT_")}
    run = subprocess.run([sys.executable, "-m", "auditor", *subcommand, "--help"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert run.returncode == 0, f"flowaudit {' '.join(subcommand)} --help failed: {run.stderr}"
    return run.stdout


def options_of(*subcommand: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", help_text(*subcommand)))


def recipe_texts() -> dict[str, str]:
    texts = {}
    for name in WORKFLOWS:
        data = yaml.safe_load((RECIPES / name).read_text(encoding="utf-8"))
        assert isinstance(data, dict), f"{name} is not a YAML mapping"
        texts[name] = "\n".join(strings_in(data))
    for name in SHELL_FILES:
        texts[name] = (RECIPES / name).read_text(encoding="utf-8")
    return texts


@pytest.mark.parametrize("name", WORKFLOWS + SHELL_FILES)
def test_every_flowaudit_option_in_a_recipe_exists(name):
    commands = flowaudit_commands(recipe_texts()[name])
    if name.endswith((".cron", ".service")):
        assert commands == []  # they run the script, which is checked itself
        return
    assert commands, f"{name} runs no flowaudit command"
    for tokens in commands:
        subcommand = tokens[0]
        known = options_of(subcommand)
        used = {t.split("=", 1)[0] for t in tokens[1:] if t.startswith("--")}
        assert used, f"{name}: flowaudit {subcommand} without options?"
        assert used <= known, f"{name}: flowaudit {subcommand} has no option(s) {sorted(used - known)}"
    indirect = options_passed_indirectly(recipe_texts()[name])
    assert indirect <= options_of("audit"), f"{name}: flowaudit audit has no option(s) {sorted(indirect)}"


def test_github_workflow_has_what_a_nightly_gate_needs():
    wf = yaml.safe_load((RECIPES / "github-actions.yml").read_text())
    triggers = wf[True] if True in wf else wf["on"]  # YAML 1.1 reads the key `on` as true
    assert triggers["schedule"][0]["cron"] and "workflow_dispatch" in triggers
    assert wf["permissions"]["id-token"] == "write"
    assert wf["permissions"]["security-events"] == "write"
    assert wf["permissions"]["contents"] == "read"
    steps = wf["jobs"]["audit"]["steps"]
    uses = {s.get("uses", "").split("@")[0]: s for s in steps}
    login = uses["azure/login"]["with"]
    assert {"client-id", "tenant-id"} <= set(login) and login["allow-no-subscriptions"] is True
    assert "client-secret" not in login and "creds" not in login  # federation, no stored secret
    assert uses["github/codeql-action/upload-sarif"]["with"]["sarif_file"].endswith("results.sarif")
    download = uses["dawidd6/action-download-artifact"]["with"]
    uploads = [s["with"] for s in steps if s.get("uses", "").startswith("actions/upload-artifact")]
    # the artifact downloaded as baseline is the one this workflow uploads
    assert any(u["name"] == download["name"] and u["path"].endswith("result.json") for u in uploads)
    text = "\n".join(strings_in(wf))
    assert "$GITHUB_STEP_SUMMARY" in text and "--baseline baseline/result.json" in text


def test_azure_pipeline_publishes_junit_and_uses_a_service_connection():
    pipeline = yaml.safe_load((RECIPES / "azure-pipelines.yml").read_text())
    assert pipeline["schedules"][0]["cron"]
    tasks = {s["task"].split("@")[0]: s for s in pipeline["steps"] if "task" in s}
    assert tasks["AzureCLI"]["inputs"]["azureSubscription"]
    junit = tasks["PublishTestResults"]["inputs"]
    assert junit["testResultsFormat"] == "JUnit" and junit["testResultsFiles"].endswith("junit.xml")
    assert tasks["DownloadPipelineArtifact"]["inputs"]["artifactName"] == "flowaudit-result"


def test_systemd_units_run_the_nightly_script_with_managed_identity():
    service = (RECIPES / "systemd" / "flowaudit-nightly.service").read_text()
    timer = (RECIPES / "systemd" / "flowaudit-nightly.timer").read_text()
    script = (RECIPES / "systemd" / "flowaudit-nightly.sh").read_text()
    assert "ExecStart=/usr/local/lib/flowaudit/flowaudit-nightly.sh" in service
    assert "OnCalendar=" in timer and "WantedBy=timers.target" in timer
    assert "--auth managed-identity" in script and "--baseline" in script
    assert subprocess.run(["sh", "-n", str(RECIPES / "systemd" / "flowaudit-nightly.sh")]).returncode == 0
    cron = [line for line in (RECIPES / "systemd" / "flowaudit.cron").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    assert len(cron) == 1 and len(cron[0].split()) >= 7 and "flowaudit-nightly.sh" in cron[0]


def test_readme_config_example_is_a_valid_config(tmp_path):
    readme = (RECIPES / "README.md").read_text()
    block = re.search(r"## Config file.*?```yaml\n(.*?)```", readme, re.S)
    assert block, "README has no config example"
    config = tmp_path / "flowaudit.yaml"
    config.write_text(block.group(1))
    (tmp_path / "waivers.yaml").write_text("waivers: []\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWAUDIT_")}
    run = subprocess.run([sys.executable, "-m", "auditor", "config", "show", "--config", str(config)],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    if run.returncode != 0 and "unknown rule id" in run.stderr:
        pytest.skip(f"rule catalog not complete yet: {run.stderr.strip()}")
    assert run.returncode == 0, run.stderr
    assert "rules.parameters.GST001.days" in run.stdout
