"""Rebuild the README's screenshots from the bundled contoso sample.

docs/screenshot-html.png (the report's first screen), docs/screenshot-frameworks.png (its framework
controls section) and docs/screenshot-pdf-cover.png (the PDF's first page). Needs the test extras
(playwright, driving Debian's /usr/bin/chromium) and poppler-utils (pdftoppm).

    .venv/bin/python scripts/make_screenshots.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CHROMIUM = "/usr/bin/chromium"


def audit(out: Path) -> None:
    subprocess.run([sys.executable, "-m", "auditor", "audit", "--sample", "contoso", "--format", "html,pdf",
                    "--fail-on", "none", "--reproducible", "-q", "--output-dir", str(out)], check=True)


def html_shots(report: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(report.as_uri())
        page.screenshot(path=str(DOCS / "screenshot-html.png"))
        page.set_viewport_size({"width": 1120, "height": 900})
        page.locator("#frameworks").screenshot(path=str(DOCS / "screenshot-frameworks.png"))
        browser.close()


def pdf_cover(pdf: Path, work: Path) -> None:
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                    str(work / "cover")], check=True)
    (work / "cover.png").replace(DOCS / "screenshot-pdf-cover.png")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        audit(work / "out")
        html_shots(work / "out" / "report.html")
        pdf_cover(work / "out" / "report.pdf", work)
    for name in ("screenshot-html.png", "screenshot-frameworks.png", "screenshot-pdf-cover.png"):
        print(f"wrote {DOCS / name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
