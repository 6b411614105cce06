"""The GitHub Action's audit step, run the way the runner runs it: inputs as FA_* variables,
step outputs in $GITHUB_OUTPUT, the job summary in $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
AUDIT = ROOT / "action" / "audit.sh"
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))


def flowaudit_shim(tmp_path: Path) -> Path:
    """The venv's flowaudit as the setup step would have installed it (this checkout, this Python)."""
    shim = tmp_path / "venv" / "bin" / "flowaudit"
    shim.parent.mkdir(parents=True, exist_ok=True)
    shim.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m auditor "$@"\n')
    shim.chmod(0o755)
    return shim


def recorder(tmp_path: Path, exit_code: int = 0) -> Path:
    """A stand-in flowaudit that records its arguments, the credential environment and the token file."""
    fake = tmp_path / "fake" / "flowaudit"
    fake.parent.mkdir(parents=True, exist_ok=True)
    fake.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$*" >"{tmp_path}/argv"\n'
        f'env | grep -E "^(AZURE_|GITHUB_STEP_SUMMARY)" | sort >"{tmp_path}/env"\n'
        f'if [ -n "${{AZURE_FEDERATED_TOKEN_FILE:-}}" ]; then cat "$AZURE_FEDERATED_TOKEN_FILE" >"{tmp_path}/token"; '
        f'ls -l "$AZURE_FEDERATED_TOKEN_FILE" >"{tmp_path}/token-mode"; fi\n'
        f"exit {exit_code}\n")
    fake.chmod(0o755)
    return fake


def run_step(tmp_path: Path, bin_path: Path, extra_env: dict[str, str] | None = None,
             **inputs: str) -> tuple[subprocess.CompletedProcess, dict[str, str], str]:
    work = tmp_path / "workspace"
    work.mkdir(exist_ok=True)
    (tmp_path / "runner-temp").mkdir(exist_ok=True)
    output, summary = tmp_path / "github-output", tmp_path / "step-summary"
    output.write_text("")
    summary.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWAUDIT_", "GITHUB_", "AZURE_", "ACTIONS_"))}
    env.update(GITHUB_OUTPUT=str(output), GITHUB_STEP_SUMMARY=str(summary), RUNNER_TEMP=str(tmp_path / "runner-temp"),
               FA_BIN=str(bin_path), FA_PYTHON=sys.executable)
    env.update({f"FA_{k.upper()}": v for k, v in inputs.items()}, **(extra_env or {}))
    run = subprocess.run(["bash", str(AUDIT)], capture_output=True, text=True, env=env, cwd=work, timeout=180)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return run, outputs, summary.read_text()


def test_audit_outputs_counts_and_verdict_and_the_summary_appears_once(tmp_path: Path) -> None:
    run, outputs, summary = run_step(tmp_path, flowaudit_shim(tmp_path), sample="contoso", formats="html",
                                     upload_sarif="true")
    assert run.returncode == 0, run.stderr  # the gate step decides, after the SARIF upload
    result = json.loads((tmp_path / "workspace" / "flowaudit-out" / "result.json").read_text())
    counts = result["summary"]
    assert outputs["exit-code"] == "1" and outputs["verdict"] == "findings"  # contoso has high findings
    assert int(outputs["open"]) == counts["open"] > 0
    assert int(outputs["critical"]) == counts["openBySeverity"]["critical"]
    assert int(outputs["high"]) == counts["openBySeverity"]["high"]
    assert int(outputs["not-evaluated"]) == counts["rules"]["notEvaluated"]
    assert outputs["sarif-file"] == "flowaudit-out/results.sarif" and outputs["result-file"] == "flowaudit-out/result.json"
    # flowaudit appended summary.md itself; the action added nothing
    md = (tmp_path / "workspace" / "flowaudit-out" / "summary.md").read_text()
    assert summary.count(md.splitlines()[0]) == 1 and summary.strip() == md.strip()
    assert "did not finish" not in summary and "stopped with exit code" not in summary


def test_job_summary_false_keeps_the_summary_out_of_the_job(tmp_path: Path) -> None:
    run, outputs, summary = run_step(tmp_path, flowaudit_shim(tmp_path), sample="clean", job_summary="false",
                                     fail_on="critical")
    assert run.returncode == 0 and outputs["exit-code"] == "0" and outputs["verdict"] == "pass", run.stderr
    assert summary == ""
    assert not (tmp_path / "workspace" / "flowaudit-out" / "summary.md").exists()


def test_an_audit_that_stops_early_says_so_in_one_summary_line(tmp_path: Path) -> None:
    run, outputs, summary = run_step(tmp_path, flowaudit_shim(tmp_path), snapshot="no/such/snapshot.zip")
    assert run.returncode == 0
    assert outputs["exit-code"] == "2" and outputs["verdict"] == "invalid-input"
    assert "open" not in outputs and "result-file" not in outputs  # no counts from a result this run did not write
    assert summary.count("stopped with exit code 2 (invalid-input)") == 1


def test_baseline_is_optional_on_the_first_run_and_required_when_asked(tmp_path: Path) -> None:
    fake = recorder(tmp_path)
    run, outputs, _ = run_step(tmp_path, fake, sample="contoso", baseline="baseline/result.json")
    assert run.returncode == 0 and "--baseline" not in (tmp_path / "argv").read_text()
    assert "no baseline at baseline/result.json" in run.stdout
    (tmp_path / "workspace" / "baseline").mkdir()
    (tmp_path / "workspace" / "baseline" / "result.json").write_text("{}")
    run, _, _ = run_step(tmp_path, fake, sample="contoso", baseline="baseline/result.json", fail_on_new="true")
    argv = shlex.split((tmp_path / "argv").read_text())
    assert argv[argv.index("--baseline") + 1] == "baseline/result.json" and "--fail-on-new" in argv
    run, outputs, _ = run_step(tmp_path, fake, sample="contoso", baseline="missing.json", baseline_required="true")
    assert run.returncode == 2 and outputs["exit-code"] == "2" and "missing.json" in run.stdout


def test_every_option_the_action_passes_exists_in_flowaudit(tmp_path: Path) -> None:
    fake = recorder(tmp_path)
    (tmp_path / "workspace").mkdir()
    for name in ("cfg.yaml", "w.yaml", "b.json"):
        (tmp_path / "workspace" / name).write_text("{}")
    run, _, _ = run_step(tmp_path, fake, tenant="contoso.onmicrosoft.com", auth="cli", cloud="usgov",
                         formats="pdf, junit", fail_on="medium", fail_on_new="true", require_complete="true",
                         config="cfg.yaml", waivers="w.yaml", baseline="b.json", save_snapshot="s.zip",
                         upload_sarif="true", output_dir="reports")
    assert run.returncode == 0, run.stderr
    argv = shlex.split((tmp_path / "argv").read_text())
    assert argv[0] == "audit"
    help_text = subprocess.run([sys.executable, "-m", "auditor", "audit", "--help"], capture_output=True, text=True,
                               timeout=60).stdout
    for option in (a for a in argv if a.startswith("--")):
        assert option in help_text, f"the action passes {option}, which flowaudit audit does not have"
    assert argv[argv.index("--format") + 1] == "pdf,junit,json,sarif,md"
    assert argv[argv.index("--tenant") + 1] == "contoso.onmicrosoft.com" and argv[argv.index("--auth") + 1] == "cli"
    assert argv[argv.index("--output-dir") + 1] == "reports" and argv[argv.index("--cloud") + 1] == "usgov"


@pytest.mark.parametrize(("inputs", "message"), [
    ({"tenant": "t", "auth": "password"}, "input auth must be"),
    ({"tenant": "t", "require_complete": "yes"}, "require-complete must be true or false"),
    ({"auth": "cli"}, "input tenant is required"),
    ({"tenant": "t"}, "needs the client-id input"),
    ({"tenant": "t", "client_id": "c"}, "id-token: write"),
])
def test_invalid_inputs_stop_with_exit_2_and_say_why(tmp_path: Path, inputs: dict[str, str], message: str) -> None:
    run, outputs, _ = run_step(tmp_path, recorder(tmp_path), **inputs)
    assert run.returncode == 2 and outputs["exit-code"] == "2"
    assert message in run.stdout
    assert not (tmp_path / "argv").exists()  # flowaudit never ran


class _OidcEndpoint(BaseHTTPRequestHandler):
    requests: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:
        type(self).requests.append((self.path, self.headers.get("Authorization")))
        body = json.dumps({"value": "header.payload.signature"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:  # keep the test output quiet
        pass


@pytest.fixture
def oidc_endpoint():
    _OidcEndpoint.requests = []
    server = HTTPServer(("127.0.0.1", 0), _OidcEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/token?api-version=2.0", _OidcEndpoint.requests
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.mark.parametrize(("cloud", "audience"), [("global", "api://AzureADTokenExchange"),
                                                  ("china", "api://AzureADTokenExchangeChina")])
def test_workload_identity_hands_githubs_oidc_token_to_azure_identity(tmp_path: Path, oidc_endpoint,
                                                                      cloud: str, audience: str) -> None:
    url, requests = oidc_endpoint
    # what a job with `permissions: id-token: write` has in its environment
    oidc_env = {"ACTIONS_ID_TOKEN_REQUEST_URL": url, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "runner-request-token"}
    run, outputs, _ = run_step(tmp_path, recorder(tmp_path), oidc_env, tenant="4c6a2b1e-8d3f-4f0a-9b7c-5e2d1a0f3c8b",
                               client_id="11111111-2222-3333-4444-555555555555", cloud=cloud)
    assert run.returncode == 0 and outputs["exit-code"] == "0", run.stderr
    argv = shlex.split((tmp_path / "argv").read_text())
    assert argv[argv.index("--auth") + 1] == "default"  # DefaultAzureCredential's workload identity
    env = dict(line.split("=", 1) for line in (tmp_path / "env").read_text().splitlines())
    assert env["AZURE_CLIENT_ID"] == "11111111-2222-3333-4444-555555555555"
    assert env["AZURE_TENANT_ID"] == "4c6a2b1e-8d3f-4f0a-9b7c-5e2d1a0f3c8b"
    assert (tmp_path / "token").read_text() == "header.payload.signature"
    assert (tmp_path / "token-mode").read_text().startswith("-rw-------")  # a credential: its user only
    assert not Path(env["AZURE_FEDERATED_TOKEN_FILE"]).exists()  # removed when the step ends
    path, authorization = requests[0]
    assert parse_qs(urlparse(path).query) == {"api-version": ["2.0"], "audience": [audience]}
    assert authorization == "bearer runner-request-token"


def test_action_steps_gate_after_the_sarif_upload_and_map_every_input() -> None:
    steps = ACTION["runs"]["steps"]
    names = [s["name"] for s in steps]
    upload = next(i for i, s in enumerate(steps) if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    gate = names.index("Gate on the audit's exit code")
    assert upload < gate and steps[gate]["if"] == "inputs.gate == 'true'"
    audit = next(s for s in steps if s.get("id") == "audit")
    mapped = {v.removeprefix("${{ inputs.").removesuffix(" }}") for v in audit["env"].values() if "inputs." in v}
    setup_only = {"python"}
    uses_only = {"sarif-category", "gate"}
    assert mapped | setup_only | uses_only == set(ACTION["inputs"]), "an input reaches no step"
    assert set(ACTION["outputs"]) >= {"exit-code", "verdict", "open", "critical", "high", "medium", "low", "info"}
