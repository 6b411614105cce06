"""The PDF report read back with pypdf: cover, contents, failing rules, bounded size, no network."""

from __future__ import annotations

import io
import sys
import urllib.request

import pytest
from click.testing import CliRunner
from pypdf import PdfReader
from report_support import SECRETS, RecordingServer, audit, hostile_tenant, many_findings, with_waivers

from auditor._format.pdf import PdfFormat
from auditor.cli import cli


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, recording_server: RecordingServer):
    root = tmp_path_factory.mktemp("pdf")
    result = with_waivers(audit(hostile_tenant(root / "snap", server=recording_server.url)))
    data = PdfFormat().format(result)
    reader = PdfReader(io.BytesIO(data))
    pages = [page.extract_text() or "" for page in reader.pages]
    return result, data, reader, pages


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_cover_contents_and_page_numbers(rendered):
    result, data, reader, pages = rendered
    assert data.startswith(b"%PDF-")
    assert 5 <= len(reader.pages) <= 60
    cover = _flat(pages[0])
    assert "Self-service sign-up audit" in cover and result.tenantId in cover
    assert "2026-11-01 06:00 UTC" in cover and "Action needed" in cover
    assert "Contents" in pages[1] and "Executive summary" in pages[1]
    assert f"Page 3 of {len(reader.pages)}" in _flat(pages[2])
    assert result.tenantId in pages[2]  # running header


def test_every_failing_rule_title_is_in_the_pdf(rendered):
    result, _, _, pages = rendered
    text = _flat(" ".join(pages))
    failing = [r for r in result.rules if r.outcome == "fail"]
    assert failing
    for rule in failing:
        assert _flat(rule.title) in text, rule.id


def test_rendering_fetches_nothing(rendered, recording_server):
    assert recording_server.requests == []
    # control: the server is live and would have recorded a fetch
    urllib.request.urlopen(f"{recording_server.url}/control.png", timeout=5).close()
    assert recording_server.requests == ["/control.png"]
    recording_server.requests.clear()


def test_no_secret_in_the_pdf(rendered):
    _, data, _, pages = rendered
    text = " ".join(pages)
    for secret in SECRETS:
        assert secret not in text and secret.encode() not in data


def test_metadata_dates_come_from_the_result(rendered):
    result, _, reader, _ = rendered
    assert reader.metadata.creation_date.strftime("%Y-%m-%dT%H:%M:%SZ") == result.generatedAt


def test_forty_thousand_findings_give_a_few_dozen_pages(rendered):
    result = many_findings(rendered[0], 40_000)
    reader = PdfReader(io.BytesIO(PdfFormat().format(result)))
    assert len(reader.pages) <= 40
    text = _flat(" ".join(p.extract_text() or "" for p in reader.pages))
    assert "and 39975 more findings of this rule — see result.json" in text


def test_missing_pango_is_a_clear_input_error(rendered, tmp_path, monkeypatch):
    result = rendered[0]
    saved = tmp_path / "result.json"
    from auditor.result import to_json
    saved.write_text(to_json(result), encoding="utf-8")
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # what an import without libpango looks like
    run = CliRunner().invoke(cli, ["report", str(saved), "--format", "html,pdf", "--output-dir", str(tmp_path / "o")])
    assert run.exit_code == 2
    line = run.stderr.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in run.output
    assert "apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core" in line
    assert "WeasyPrint" not in run.stdout  # its banner never reaches stdout
    # the formats that can render are still written; the PDF is not, and nothing is half-written
    assert (tmp_path / "o" / "report.html").exists() and not (tmp_path / "o" / "report.pdf").exists()
    assert [p.name for p in (tmp_path / "o").iterdir() if p.name.startswith(".flowaudit-")
            and p.is_dir()] == []
