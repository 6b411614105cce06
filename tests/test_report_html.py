"""The HTML report read back in headless Chromium: counts, filters, hostile tenant text, no network."""

from __future__ import annotations

import os
import re
import shutil
from html import unescape
from pathlib import Path

import pytest
from report_support import IMG, SCRIPT, RecordingServer, audit, hostile_tenant, many_findings, with_waivers

from auditor._format.html import HtmlFormat
from auditor.catalog import SEVERITIES

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def _need_browser() -> None:
    reason = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "the playwright package is not installed"
    if reason is None and not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run in CI: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, recording_server: RecordingServer):
    root = tmp_path_factory.mktemp("html")
    result = with_waivers(audit(hostile_tenant(root / "snap", server=recording_server.url)))
    path = root / "report.html"
    path.write_bytes(HtmlFormat().format(result))
    return result, path


@pytest.fixture(scope="module")
def browser():
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, report):
    _, path = report
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    pg = context.new_page()
    pg.on("request", lambda r: requests.append(r.url))
    pg.goto(path.as_uri())
    pg.wait_for_load_state("load")
    pg.requests = requests
    yield pg
    context.close()


def _count(pg, key: str) -> int:
    return int(pg.locator(f'[data-count="{key}"]').first.inner_text())


def test_summary_counts_shown_equal_the_result(page, report):
    result, _ = report
    assert result.summary.open > 0 and result.summary.waived == 1
    for sev in SEVERITIES:
        assert _count(page, f"open-{sev}") == result.summary.openBySeverity[sev]
        assert _count(page, f"waived-{sev}") == result.summary.waivedBySeverity[sev]
    assert _count(page, "open") == result.summary.open
    for outcome, n in result.summary.rules.items():
        assert _count(page, f"rules-{outcome}") == n
    assert page.locator("tbody.finding").count() == len(result.findings)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-html.png"))


def test_filters_hide_and_show_findings(page, report):
    result, _ = report
    visible = page.locator("tbody.finding:visible")
    assert visible.count() == len(result.findings)
    medium = sum(1 for f in result.findings if f.severity == "medium")
    assert medium > 0
    page.uncheck('input[name="severity"][value="medium"]')
    assert visible.count() == len(result.findings) - medium
    assert page.locator("#shown-count").inner_text() == str(len(result.findings) - medium)
    page.check('input[name="severity"][value="medium"]')
    assert visible.count() == len(result.findings)
    page.uncheck('input[name="status"][value="open"]')
    assert visible.count() == result.summary.waived
    family = result.findings[0].ruleId[:3]
    page.check('input[name="status"][value="open"]')
    for box in page.locator('input[name="family"]').all():
        if box.get_attribute("value") != family:
            box.uncheck()
    assert visible.count() == sum(1 for f in result.findings if f.ruleId.startswith(family))
    assert page.locator("section.group:visible").count() == len({f.ruleId for f in result.findings
                                                                  if f.ruleId.startswith(family)})


def test_hostile_tenant_text_stays_text(page, report, recording_server):
    html = report[1].read_text(encoding="utf-8")
    assert SCRIPT not in html and IMG not in html  # escaped, never markup
    assert "&lt;script&gt;document.title=" in html  # ...but shown, so a reviewer sees it
    assert page.title().startswith("flowaudit report") and "pwned" not in page.title()
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert page.evaluate("document.scripts.length") == 1  # only the report's own filter script
    assert page.evaluate("[...document.querySelectorAll('*')].filter(e => [...e.attributes]"
                         ".some(a => a.name.startsWith('on'))).length") == 0
    assert page.get_by_text("document.title='pwned'", exact=False).count() > 0
    assert recording_server.requests == []
    assert [u for u in page.requests if not u.startswith("file://")] == []


def test_framework_controls_are_shown_and_linked_from_the_contents(page, report):
    result, _ = report
    mapped = {(fw, c) for r in result.rules for fw, ids in r.frameworks.items() for c in ids}
    assert mapped
    rows = page.locator("#frameworks tr[data-control]")
    assert rows.count() == len(mapped)
    assert page.locator("#frameworks").is_visible()
    page.click('nav.toc a[href="#frameworks"]')
    assert page.evaluate("location.hash") == "#frameworks"
    failing = page.locator('#frameworks tr[data-control-status="fail"]')
    assert failing.count() > 0 and "Fail" in failing.first.inner_text()


def test_content_security_policy_is_in_force(page):
    """Even markup that slipped into the page could run no script: only the report's own is allowed."""
    page.evaluate("""() => { const s = document.createElement('script');
                      s.textContent = "document.title = 'pwned'"; document.body.appendChild(s); }""")
    assert page.title().startswith("flowaudit report")
    assert page.evaluate("document.getElementById('shown-count').textContent") != ""  # own script ran


def test_report_is_self_contained(report):
    html = report[1].read_text(encoding="utf-8")
    found = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert found
    csp = unescape(found.group(1))
    assert "default-src 'none'" in csp and "img-src data:" in csp and "unsafe-inline" not in csp
    # nothing is loaded from anywhere: no src/url()/@import/stylesheet link; only <a href> to documentation
    assert not re.search(r"\ssrc=\"(?!data:)", html.split("</head>")[1].replace('src=x', ''))
    assert "url(" not in html and "@import" not in html and "<link" not in html
    assert "@font-face" not in html


def test_html_stays_bounded_for_forty_thousand_findings(report, tmp_path):
    result, _ = report
    big = many_findings(result, 40_000)
    data = HtmlFormat().format(big)
    assert len(data) < 15 * 1024 * 1024
    html = data.decode("utf-8")
    assert html.count('class="finding"') == 500
    assert "and 39500 more findings of this rule — see result.json" in html
    assert f'data-count="open">{big.summary.open}<' in html


def test_html_is_deterministic(report):
    result, path = report
    assert HtmlFormat().format(result) == path.read_bytes()


def test_screenshot_of_the_first_screen(browser, tmp_path):
    """Kept as a test artefact (and the source of docs/screenshot-html.png)."""
    from auditor.resources import sample_names

    source = tmp_path / "snap"
    if "contoso" in sample_names():
        from auditor.resources import samples_dir
        shutil.copytree(samples_dir() / "contoso", source)
    else:
        hostile_tenant(source)
    path = tmp_path / "report.html"
    path.write_bytes(HtmlFormat().format(audit(source)))
    pg = browser.new_page(viewport={"width": 1280, "height": 860})
    pg.goto(path.as_uri())
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "report-html-first-screen.png"
    pg.screenshot(path=str(target))
    pg.close()
    assert target.stat().st_size > 10_000
