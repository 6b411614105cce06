"""`flowaudit report RESULT --plan PLAN`: the "Change plan" appendix of the HTML and the PDF, with
hostile tenant text escaped and connector secrets nowhere."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from plan_support import load, run
from pypdf import PdfReader
from report_support import IMG, SCRIPT, SECRETS, hostile_tenant


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("plan-report")
    snapshot = hostile_tenant(tmp / "snap", guests=40)
    audited = run("audit", "--snapshot", str(snapshot), "--output-dir", "out", "--fail-on", "none", "-q",
                  "--reproducible", cwd=tmp)
    assert audited.returncode == 0, audited.stderr
    proc = run("plan", "out/result.json", "--snapshot", str(snapshot), "-o", "plan.json", cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    return tmp


def test_html_has_the_change_plan_escaped_and_without_secrets(planned: Path):
    proc = run("report", "out/result.json", "--plan", "plan.json", "--format", "html", "--output-dir", "rep",
               cwd=planned)
    assert proc.returncode == 0, proc.stderr
    html = (planned / "rep" / "report.html").read_text(encoding="utf-8")
    plan = load(planned / "plan.json")
    assert '<section id="change-plan">' in html and '<a href="#change-plan">Change plan</a>' in html
    for change in plan["changes"]:
        assert f">{change['id']}<" in html
    assert "enabledForReportingButNotEnforced" in html and "User.EnableDisableAccount.All" in html
    assert SCRIPT not in html and IMG not in html
    assert "&lt;script&gt;" in html.split('id="change-plan"')[1]  # a connector name, shown as text
    assert not any(secret in html for secret in SECRETS)


def test_pdf_has_the_change_plan_appendix(planned: Path):
    proc = run("report", "out/result.json", "--plan", "plan.json", "--format", "pdf", "--output-dir", "rep",
               cwd=planned)
    if proc.returncode == 2 and "Pango" in proc.stderr:
        pytest.skip("WeasyPrint's system libraries are not installed")
    assert proc.returncode == 0, proc.stderr
    reader = PdfReader(io.BytesIO((planned / "rep" / "report.pdf").read_bytes()))
    pages = [page.extract_text() or "" for page in reader.pages]
    assert "Appendix D — Change plan" in pages[1]  # the contents page
    appendix = " ".join(" ".join(p.split()) for p in pages if "Change plan" in p)
    assert "Permissions apply needs" in appendix and "waiting for input" in appendix
    text = " ".join(pages)
    assert not any(secret in text for secret in SECRETS)
    # the PDF lists every inactive guest's change but details only the first ones
    assert "follow the same steps for their own resource" in " ".join(text.split())


def test_report_without_plan_has_no_appendix(planned: Path):
    proc = run("report", "out/result.json", "--format", "html", "--output-dir", "plain", cwd=planned)
    assert proc.returncode == 0
    assert 'id="change-plan"' not in (planned / "plain" / "report.html").read_text(encoding="utf-8")


def test_plan_needs_a_format_for_people_and_the_same_tenant(planned: Path, tmp_path: Path):
    json_only = run("report", "out/result.json", "--plan", "plan.json", "--format", "json", "--output-dir", "x",
                    cwd=planned)
    assert json_only.returncode == 2 and "html and pdf" in json_only.stderr
    plan = load(planned / "plan.json")
    plan["tenantId"] = "99999999-8888-4777-8666-555555555555"
    (tmp_path / "other.json").write_text(json.dumps(plan), encoding="utf-8")
    other = run("report", str(planned / "out" / "result.json"), "--plan", str(tmp_path / "other.json"), "--format",
                "html", "--output-dir", str(tmp_path / "o"), cwd=tmp_path)
    assert other.returncode == 2 and "tenant" in other.stderr and "Traceback" not in other.stderr
