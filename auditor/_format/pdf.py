"""``report.pdf``: the review-board report, rendered by WeasyPrint from the same templates.

WeasyPrint is imported here only, lazily: every other format works without Pango. Its URL fetcher
refuses everything but ``data:`` and files under the bundled templates directory, so nothing named
in tenant data (an image URL in a display name, a connector URL) is ever fetched while rendering.
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path
from typing import Any

from auditor._format._templates import asset, render
from auditor._format._view import PDF_CAPS, build_view
from auditor._format.interface import Formatter
from auditor.errors import InputError
from auditor.resources import templates_dir
from auditor.result import AuditResult

INSTALL_HINT = ("PDF output needs the Pango and HarfBuzz system libraries and a font "
                "(Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 "
                "fonts-dejavu-core)")


def _weasyprint() -> tuple[Any, Any]:
    # WeasyPrint prints a banner to stdout when a library is missing; stdout carries only what the
    # user asked for, so the import runs with stdout captured and the failure becomes one line.
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured):
            import weasyprint
            from weasyprint.urls import URLFetcher
    except (ImportError, OSError) as exc:  # OSError: cffi could not dlopen libpango/libgobject
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(f"{INSTALL_HINT}: {first}") from None
    return weasyprint, URLFetcher


def make_fetcher(url_fetcher_base: Any) -> Any:
    assets = templates_dir().resolve().as_uri().rstrip("/") + "/"

    class BundledOnlyFetcher(url_fetcher_base):  # type: ignore[misc]
        """Allows data: URLs and bundled assets; every other URL is refused (and logged)."""

        def __init__(self) -> None:
            super().__init__(allowed_protocols={"data", "file"}, timeout=2)

        def fetch(self, url: str, headers: Any = None) -> Any:
            if not (url.startswith("data:") or url.startswith(assets)):
                raise ValueError(f"blocked URL: {url[:80]}")
            return super().fetch(url, headers)

    return BundledOnlyFetcher()


class PdfFormat(Formatter):
    filename = "report.pdf"

    def format(self, result: AuditResult) -> bytes:
        weasyprint, url_fetcher_base = _weasyprint()
        plan = None
        if self.plan is not None:
            from auditor._format._planview import PDF_PLAN_CAPS, build_plan_view

            plan = build_plan_view(self.plan, PDF_PLAN_CAPS, self.plan_dir or Path("."))
        view = build_view(result, PDF_CAPS, plan)
        html = render("report-pdf.html.j2", view, medium="print", css=asset("report.css") + asset("print.css"))
        # WeasyPrint logs each refused URL as a warning naming tenant data: keep those out of the console.
        logging.getLogger("weasyprint").setLevel(logging.ERROR)
        document = weasyprint.HTML(string=html, base_url=str(templates_dir()), url_fetcher=make_fetcher(url_fetcher_base))
        data = document.write_pdf()
        if not isinstance(data, bytes):
            raise InputError("PDF rendering produced no output")
        return data
