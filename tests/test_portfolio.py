"""`flowaudit portfolio run` on the bundled samples and `portfolio merge` of tenant folders, through
the installed console script: one folder per tenant, per-tenant config and waivers, the merged
portfolio.json/.html/.pdf/.md, exit code = the worst tenant's, and the tenants file's checks."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from collect_support import run_cli
from report_support import IMG, SCRIPT

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
EPOCH = {"SOURCE_DATE_EPOCH": "1767225600"}  # 2026-01-01: two runs write the same bytes
CONTOSO_CRITICAL_CONNECTOR = "5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b"  # CON003 in samples/contoso
FABRIKAM, CLEAN = f"Fabrikam {SCRIPT}", f"Clean {IMG}"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def waiver(rule: str, resource: str) -> str:
    return (f"waivers:\n  - rule: {rule}\n    resource: {resource}\n    justification: accepted by the CAB\n"
            "    expires: 2030-01-01\n    owner: iam-team\n")


def sample_portfolio(root: Path, extra: str = "") -> Path:
    """Three sample tenants, each with something of its own: waivers, a stricter gate, a config file."""
    write(root / "tenants" / "contoso-waivers.yaml", waiver("CON003", CONTOSO_CRITICAL_CONNECTOR))
    write(root / "tenants" / "fabrikam-waivers.yaml", waiver("GUE001", "authorizationPolicy"))
    write(root / "tenants" / "clean.yaml", "fail-on: info\n")
    return write(root / "TENANTS.yaml", f"""\
defaults:
  fail-on: critical
tenants:
  - name: Contoso EU
    tenant: 4c6a2b1e-8d3f-4f0a-9b7c-5e2d1a0f3c8b
    snapshot: {SAMPLES / 'contoso'}
    waivers: tenants/contoso-waivers.yaml
  - name: {json.dumps(FABRIKAM)}
    snapshot: {SAMPLES / 'fabrikam'}
    fail-on: high
    waivers: tenants/fabrikam-waivers.yaml
  - name: {json.dumps(CLEAN)}
    sample: clean
    config: tenants/clean.yaml
{extra}""")


def portfolio_run(tenants: Path, out: Path, *args: str, env: dict[str, str] | None = None
                  ) -> subprocess.CompletedProcess[str]:
    return run_cli(["portfolio", "run", str(tenants), "--output-dir", str(out), *args], env={**EPOCH, **(env or {})},
                   timeout=300)


def rows(out: Path) -> dict[str, dict]:
    return {t["name"]: t for t in json.loads((out / "portfolio.json").read_text(encoding="utf-8"))["tenants"]}


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    root = tmp_path_factory.mktemp("portfolio")
    run = portfolio_run(sample_portfolio(root), root / "out", "--format", "json,html,pdf,md")
    return root / "out", run


def test_run_audits_each_tenant_with_its_own_config_and_waivers(sample_run) -> None:
    out, run = sample_run
    assert run.returncode == 1, run.stderr  # findings in two tenants; nothing worse
    tenants = rows(out)
    assert list(tenants) == ["Contoso EU", FABRIKAM, CLEAN]  # the file's order
    contoso, fabrikam, clean = tenants.values()
    # Contoso: its waiver took one of its two critical findings out of the open count
    assert contoso["status"] == "audited" and contoso["exitCode"] == 1
    assert contoso["openBySeverity"]["critical"] == 1 and contoso["waived"] == 1
    # Fabrikam: --fail-on high from its entry, its only high finding waived: it passes
    assert fabrikam["exitCode"] == 0 and fabrikam["gate"]["failOn"] == "high" and fabrikam["waived"] == 1
    assert fabrikam["verdict"].startswith("PASS: no open finding at or above high")
    # Clean: fail-on info from its config file makes its informational notes gate
    assert clean["exitCode"] == 1 and clean["gate"]["failOn"] == "info"
    assert clean["verdict"].startswith("FAIL: 3 open findings at or above info (ATT005, IDP003)")
    for row in tenants.values():
        folder = out / row["folder"]
        result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
        assert result["tenantId"] == row["tenantId"]
        assert row["openBySeverity"] == result["summary"]["openBySeverity"]
        assert (folder / "report.html").is_file() and (folder / "report.pdf").is_file()
        assert (folder / "exit-code").read_text() == f"{row['exitCode']}\n"
        assert json.loads((folder / "tenant.json").read_text(encoding="utf-8"))["name"] == row["name"]
        assert row["report"] == f"{row['folder']}/report.html"
    summary = json.loads((out / "portfolio.json").read_text(encoding="utf-8"))["summary"]
    assert summary["exitCode"] == 1 and summary["byExitCode"] == {"0": 1, "1": 2, "2": 0, "3": 0}
    assert summary["openBySeverity"] == {s: sum(r["openBySeverity"][s] for r in tenants.values())
                                         for s in summary["openBySeverity"]}
    # the console: a table row per tenant, where the report is, one verdict line last
    lines = run.stdout.splitlines()
    assert lines[0].split()[:3] == ["tenant", "status", "exit"]
    assert any(line.startswith("Contoso EU") and " audited " in line for line in lines)
    assert f"Report: {out / 'portfolio.html'}" in lines
    assert lines[-1] == "FAIL: 2 tenants with open findings at or above their --fail-on (exit 1); 1 of 3 tenants pass"
    assert "flowaudit portfolio: [3/3] " in run.stderr and "Traceback" not in run.stderr


def test_the_worst_findings_come_first_and_name_their_tenant(sample_run) -> None:
    out, _ = sample_run
    portfolio = json.loads((out / "portfolio.json").read_text(encoding="utf-8"))
    worst = portfolio["worstFindings"]
    ranks = {"critical": 5, "high": 4, "medium": 3, "low": 2, "info": 1}
    assert [ranks[f["severity"]] for f in worst] == sorted((ranks[f["severity"]] for f in worst), reverse=True)
    assert worst[0]["severity"] == "critical" and worst[0]["tenant"] == "Contoso EU"
    listed = {(f["tenant"], f["ruleId"], f["resource"]["id"]) for f in worst}
    assert ("Contoso EU", "CON003", CONTOSO_CRITICAL_CONNECTOR) not in listed  # waived: not among the worst
    assert (FABRIKAM, "GUE003", "authorizationPolicy") in listed  # open in Fabrikam...
    assert (FABRIKAM, "GUE001", "authorizationPolicy") not in listed  # ...its waived one is not
    assert portfolio["summary"]["worstFindings"] == sum(sum(t["openBySeverity"].values())
                                                        for t in portfolio["tenants"])
    # the matrix cells: Contoso's connectors fail at critical, the clean tenant's pass
    contoso, _, clean = portfolio["tenants"]
    assert contoso["families"]["CON"]["status"] == "failed" and contoso["families"]["CON"]["worst"] == "critical"
    assert clean["families"]["CON"]["status"] == "passed"
    assert [f["id"] for f in portfolio["families"]][:3] == ["SSU", "IDP", "ATT"]


def test_merge_of_the_runs_folders_gives_the_same_portfolio(sample_run, tmp_path: Path) -> None:
    out, _ = sample_run
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    folders = [str(copy / t["folder"]) for t in rows(out).values()]
    merged = run_cli(["portfolio", "merge", *folders, "--output-dir", str(copy), "--format", "json,md"], env=EPOCH)
    assert merged.returncode == 1, merged.stderr
    assert (copy / "portfolio.json").read_bytes() == (out / "portfolio.json").read_bytes()
    assert (copy / "portfolio.md").read_bytes() == (out / "portfolio.md").read_bytes()
    # formats not asked this time are not left over from the run
    assert not (copy / "portfolio.html").exists() and not (copy / "portfolio.pdf").exists()


def test_one_tenant_failing_never_stops_the_others_and_the_worst_code_wins(tmp_path: Path) -> None:
    write(tmp_path / "tenants" / "bad-waivers.yaml", "waivers:\n  - rule: NOPE999\n    justification: x\n")
    tenants = sample_portfolio(tmp_path, extra=f"""\
  - name: Missing snapshot
    snapshot: {tmp_path / 'no-such-snapshot'}
  - name: Wrong tenant
    tenant: 11111111-2222-4333-8444-555555555555
    snapshot: {SAMPLES / 'fabrikam'}
  - name: Bad waivers
    sample: clean
    waivers: tenants/bad-waivers.yaml
""")
    out = tmp_path / "out"
    run = portfolio_run(tenants, out, "--format", "json")
    assert run.returncode == 2, run.stderr  # invalid input (2) beats findings (1)
    tenants_by_name = rows(out)
    assert [t["status"] for t in tenants_by_name.values()] == ["audited"] * 3 + ["failed"] * 3
    missing, wrong, bad = (tenants_by_name[n] for n in ("Missing snapshot", "Wrong tenant", "Bad waivers"))
    assert missing["exitCode"] == 2 and "no-such-snapshot: snapshot not found" in missing["reason"]
    assert wrong["exitCode"] == 2 and "11111111-2222-4333-8444-555555555555" in wrong["reason"]
    assert "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d" in wrong["reason"]  # the snapshot's own tenant
    assert bad["exitCode"] == 2 and "bad-waivers.yaml" in bad["reason"] and "NOPE999" in bad["reason"]
    for row in (missing, wrong, bad):  # a failed tenant's folder says why, and holds no result
        folder = out / row["folder"]
        assert (folder / "exit-code").read_text() == "2\n" and not (folder / "result.json").exists()
        assert json.loads((folder / "tenant.json").read_text())["reason"] == row["reason"]
    assert run.stdout.splitlines()[-1].startswith("INVALID: 3 tenants with invalid input (exit 2); 2 tenants with")
    assert run.stderr.rstrip().splitlines()[-1].startswith("flowaudit: INVALID: 3 tenants with invalid input")


def test_a_failed_rerun_removes_the_earlier_result_from_the_tenants_folder(tmp_path: Path) -> None:
    snapshot = tmp_path / "snap"
    shutil.copytree(SAMPLES / "clean", snapshot)
    tenants = write(tmp_path / "TENANTS.yaml", f"tenants:\n  - name: F\n    snapshot: {snapshot}\n")
    assert portfolio_run(tenants, tmp_path / "out", "--format", "json,html").returncode == 0
    assert (tmp_path / "out" / "F" / "result.json").is_file()
    shutil.rmtree(snapshot)
    again = portfolio_run(tenants, tmp_path / "out", "--format", "json,html")
    assert again.returncode == 2
    assert not (tmp_path / "out" / "F" / "result.json").exists() and not (tmp_path / "out" / "F" / "report.html").exists()
    merged = run_cli(["portfolio", "merge", str(tmp_path / "out" / "F"), "-o", str(tmp_path / "m")])
    assert merged.returncode == 2 and rows(tmp_path / "m")["F"]["status"] == "failed"


def test_merge_turns_folders_without_a_readable_result_into_failed_rows(sample_run, tmp_path: Path) -> None:
    out, _ = sample_run
    contoso = rows(out)["Contoso EU"]
    # as the recipes leave them: one tenant's folder per job, no tenant.json, an exit-code file
    good = tmp_path / "job-0"
    shutil.copytree(out / contoso["folder"], good)
    (good / "tenant.json").unlink()
    broken = write(tmp_path / "job-1" / "result.json", '{"format": "flowaudit-result", "version": 1, "tool": ')
    write(tmp_path / "job-1" / "tenant.json", json.dumps({"name": "Broken Ltd", "tenantId": "t-1"}))
    nothing = write(tmp_path / "job-2" / "exit-code", "3\n").parent  # its audit could not sign in
    absent = tmp_path / "job-3"  # its job uploaded nothing at all
    merged = run_cli(["portfolio", "merge", str(good), str(broken.parent), str(nothing), str(absent),
                      "-o", str(tmp_path / "portfolio"), "--format", "json,html"])
    assert merged.returncode == 2, merged.stderr  # the broken result is invalid input
    assert "Traceback" not in merged.stderr
    by_folder = {t["folder"]: t for t in rows(tmp_path / "portfolio").values()}
    first = by_folder["../job-0"]
    assert first["status"] == "audited" and first["name"] == contoso["tenantId"]  # no tenant.json: its id
    assert first["openBySeverity"] == contoso["openBySeverity"] and first["waived"] == contoso["waived"] == 1
    assert first["report"] == "../job-0/report.html"
    second = by_folder["../job-1"]
    assert (second["status"], second["exitCode"], second["name"]) == ("failed", 2, "Broken Ltd")
    assert "result.json" in second["reason"] and "invalid JSON" in second["reason"]
    third = by_folder["../job-2"]
    assert (third["status"], third["exitCode"]) == ("failed", 3) and "its audit exited 3" in third["reason"]
    fourth = by_folder["../job-3"]
    assert (fourth["status"], fourth["exitCode"]) == ("failed", 3) and "no such folder" in fourth["reason"]
    assert merged.stdout.splitlines()[-1].startswith("INVALID: 1 tenant with invalid input (exit 2); 2 tenants "
                                                     "not completely audited (exit 3)")
    page = (tmp_path / "portfolio" / "portfolio.html").read_text(encoding="utf-8")
    assert "not audited:" in page and "Broken Ltd" in page


@pytest.mark.parametrize(("body", "expected"), [
    ("tenants:\n  - name: A\n    snapshot: s\n    fail-on: extreme\n",
     "TENANTS.yaml: tenant 1 (A): 'fail-on': 'extreme' is not one of"),
    ("tenants:\n  - name: A\n    snapshot: s\n  - name: B\n    tennant: x\n",
     "TENANTS.yaml: tenant 2 (B): unknown key 'tennant'"),
    ("tenants:\n  - name: A\n    auth: token\n", "TENANTS.yaml: tenant 1 (A): a live entry needs 'tenant'"),
    ("tenants:\n  - name: A\n    snapshot: s\n  - name: a\n    snapshot: t\n",
     "TENANTS.yaml: tenant 2 (a): name 'a' is already used by tenant 1"),
    ("tenants:\n  - name: A\n    snapshot: s\n    output-dir: x\n",
     "TENANTS.yaml: tenant 1 (A): key 'output-dir' cannot be set per tenant"),
    ("defaults:\n  fail_on: low\ntenants:\n  - name: A\n    snapshot: s\n",
     "TENANTS.yaml: tenant 1 (A): unknown key 'fail_on' (write it as on the command line: 'fail-on')"),
    ("tenants:\n  - name: A\n    snapshot: s\n    rules: [CAP001, XYZ999]\n",
     "TENANTS.yaml: tenant 1 (A): 'rules': unknown rule id(s) XYZ999"),
    ("tenants:\n  - name: A\n    snapshot: s\n    sample: clean\n",
     "TENANTS.yaml: tenant 1 (A): give either 'snapshot' or 'sample', not both"),
    ("tenants: []\n", "TENANTS.yaml: 'tenants' must be a non-empty list"),
    ("tenant:\n  - name: A\n", "TENANTS.yaml: unknown key 'tenant' (allowed at the top: defaults, tenants)"),
    ("tenants:\n  - name: A\n    snapshot: s\n    format: [json, docx]\n",
     "TENANTS.yaml: tenant 1 (A): 'format': unknown format(s) docx"),
    ("tenants:\n  - [a, b]\n", "TENANTS.yaml: tenant 1: an entry must be a mapping"),
])
def test_a_bad_tenants_file_is_one_line_naming_file_entry_and_key(tmp_path: Path, body: str, expected: str) -> None:
    tenants = write(tmp_path / "TENANTS.yaml", body)
    run = run_cli(["portfolio", "run", "TENANTS.yaml", "-o", "out"], cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [run.stderr.strip()]  # one line
    assert run.stderr.startswith(f"flowaudit: {expected}"), run.stderr
    assert not (tmp_path / "out").exists()  # checked before anything is written
    assert tenants.exists()


def test_folders_are_safe_and_unique_whatever_the_names(tmp_path: Path) -> None:
    names = ["a/b", "A b", "../../etc", "portfolio.json", ".hidden", "Ünïcode ☃"]
    body = "tenants:\n" + "".join(f"  - name: {json.dumps(n)}\n    sample: clean\n" for n in names)
    run = portfolio_run(write(tmp_path / "TENANTS.yaml", body), tmp_path / "out", "--format", "json")
    assert run.returncode == 0, run.stderr
    folders = [t["folder"] for t in rows(tmp_path / "out").values()]
    assert len({f.casefold() for f in folders}) == len(names)
    for folder in folders:
        assert "/" not in folder and not folder.startswith(".") and folder not in ("portfolio.json",)
        assert (tmp_path / "out" / folder / "result.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["TENANTS.yaml", "out"]  # nothing escaped the folder


# --- the merged reports, read back as a person would see them -------------------------------------

def test_portfolio_html_in_chromium_shows_the_matrix_and_hostile_names_as_text(sample_run) -> None:
    from test_report_html import CHROMIUM, CHROMIUM_ARGS, _need_browser

    _need_browser()
    from playwright.sync_api import sync_playwright

    out, _ = sample_run
    path = out / "portfolio.html"
    html = path.read_text(encoding="utf-8")
    assert SCRIPT not in html and IMG not in html and "&lt;script&gt;document.title=" in html
    assert 'http-equiv="Content-Security-Policy"' in html and "script-src &#39;none&#39;" in html
    requested: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda r: requested.append(r.url))
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        assert "pwned" not in page.title() and page.title().startswith("flowaudit portfolio")
        assert page.evaluate("document.querySelectorAll('img').length") == 0
        assert page.evaluate("document.scripts.length") == 0
        names = page.locator("#matrix tbody tr .t-name").all_inner_texts()
        assert names == ["Contoso EU", FABRIKAM, CLEAN]  # the hostile names, shown literally
        headers = page.locator("#matrix thead th.m-fam .rule-id").all_inner_texts()
        assert headers[:4] == ["SSU", "IDP", "ATT", "CON"]
        contoso = page.locator("#matrix tbody tr").nth(0)
        con = contoso.locator("td.cell").nth(headers.index("CON"))
        assert con.inner_text() == f"{rows(out)['Contoso EU']['families']['CON']['open']} critical"
        assert "cell-sev-critical" in (con.get_attribute("class") or "")
        assert page.locator("#matrix tbody tr").nth(2).locator("td.cell").nth(headers.index("CON")).inner_text() \
            == "pass"
        link = contoso.locator(".t-name a")
        assert link.get_attribute("href") == "./Contoso-EU/report.html"
        assert page.locator("table.worst tbody tr").first.locator(".badge").inner_text().lower() == "critical"
        page.screenshot(path=str(out / "portfolio.png"), full_page=True)
        browser.close()
    assert requested == [path.as_uri()]  # nothing else was fetched


def test_portfolio_pdf_text_names_every_tenant_and_the_worst_findings(sample_run) -> None:
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    out, _ = sample_run
    text = subprocess.run(["pdftotext", "-layout", str(out / "portfolio.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = " ".join(text.split())
    assert "Self-service sign-up audit: portfolio" in flat and "Tenants × rule families" in flat
    for name in ("Contoso EU", "Fabrikam", "Clean"):
        assert name in flat
    assert "<script>document.title='pwned'</script>" in flat  # the name as text, never markup
    assert "Worst findings across tenants" in flat and "CON003" not in flat.split("Worst findings")[0]
    worst = json.loads((out / "portfolio.json").read_text(encoding="utf-8"))["worstFindings"][0]
    assert worst["ruleId"] in flat.split("Worst findings across tenants", 2)[-1]
    assert "FAIL: 2 tenants with open findings at or above their --fail-on" in flat
    from pypdf import PdfReader

    assert len(PdfReader(str(out / "portfolio.pdf")).pages) >= 3
