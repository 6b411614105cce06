"""``report.html``: one self-contained file for people (inline CSS, inline SVG, inline filter script).

No external URL of any kind; a Content-Security-Policy allows only the exact inline style and script
blocks (by hash) and data: images, so even markup that slipped into the page could load or run nothing.
"""

from __future__ import annotations

from pathlib import Path

from auditor._format._templates import asset, csp_source, render
from auditor._format._view import HTML_CAPS, build_view
from auditor._format.interface import Formatter
from auditor.result import AuditResult


def content_security_policy(css: str, script: str) -> str:
    return (f"default-src 'none'; style-src {csp_source(css)}; script-src {csp_source(script)}; "
            "img-src data:; base-uri 'none'; form-action 'none'")


class HtmlFormat(Formatter):
    filename = "report.html"

    def format(self, result: AuditResult) -> bytes:
        css, script = asset("report.css"), asset("filters.js")
        plan = None
        if self.plan is not None:
            from auditor._format._planview import HTML_PLAN_CAPS, build_plan_view

            plan = build_plan_view(self.plan, HTML_PLAN_CAPS, self.plan_dir or Path("."))
        view = build_view(result, HTML_CAPS, plan)
        html = render("report.html.j2", view, medium="screen", css=css, script=script,
                      csp=content_security_policy(css, script))
        return html.encode("utf-8")
