"""The portfolio's own files: ``portfolio.json`` (always), ``portfolio.html``, ``portfolio.pdf`` and
``portfolio.md`` when ``--format`` names html, pdf or md (and, on GitHub Actions, appended to the job
summary once). Written as one set, like an audit's outputs
(auditor/_format/output.py): all or none, and a file of an earlier run that this one did not write
is removed. HTML and PDF follow the tenant report: one self-contained HTML file whose CSP allows
only its own inline style; a PDF rendered by WeasyPrint with the bundled-only URL fetcher.
"""

from __future__ import annotations

import logging
import os
import re
from datetime import datetime, timezone
from pathlib import Path

from auditor.errors import InputError, UsageError
from auditor.portfolio.model import Portfolio, to_json
from auditor.portfolio.view import build_portfolio_view
from auditor.severity import SEVERITIES
from auditor.text import for_markdown as md
from auditor.timefmt import iso_utc

PORTFOLIO_FILES = {"json": "portfolio.json", "html": "portfolio.html", "pdf": "portfolio.pdf", "md": "portfolio.md"}
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def generated_at() -> str:
    """Now, or ``SOURCE_DATE_EPOCH`` when set (reproducible builds, tests comparing two runs)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    moment = datetime.fromtimestamp(int(epoch), tz=timezone.utc) if epoch.isdigit() else datetime.now(timezone.utc)
    return iso_utc(moment)


def resolve_portfolio_dir(template: Path) -> Path:
    """``--output-dir`` with ``{date}`` (the run's UTC date) replaced; ``{tenant}`` means nothing here."""
    names = {m.group(1) for m in _PLACEHOLDER.finditer(str(template))}
    unknown = sorted(names - {"date"})
    if unknown:
        hint = " (each tenant has its own folder inside it)" if "tenant" in unknown else ""
        raise UsageError(f"--output-dir {template}: unknown placeholder {{{unknown[0]}}}{hint} (available: {{date}})")
    if not names:
        return template
    return Path(str(template).replace("{date}", generated_at()[:10]))


def portfolio_formats(formats: list[str]) -> list[str]:
    """The portfolio files a run writes for ``--format``: json always, html/pdf/md when asked."""
    return ["json", *(f for f in ("html", "pdf", "md") if f in formats)]


def render_html(portfolio: Portfolio) -> bytes:
    from auditor._format._templates import asset, csp_source, environment

    css = asset("report.css") + asset("portfolio.css")
    csp = (f"default-src 'none'; style-src {csp_source(css)}; script-src 'none'; img-src data:; "
           "base-uri 'none'; form-action 'none'")
    html = environment().get_template("portfolio.html.j2").render(
        v=build_portfolio_view(portfolio), medium="screen", css=_markup(css), csp=csp)
    return html.encode("utf-8")


def _markup(css: str) -> object:
    from markupsafe import Markup

    return Markup(css)  # our bundled stylesheet, not tenant data


def render_pdf(portfolio: Portfolio) -> bytes:
    from auditor._format._templates import asset, environment
    from auditor._format.pdf import _weasyprint, make_fetcher
    from auditor.resources import templates_dir

    weasyprint, url_fetcher_base = _weasyprint()
    css = asset("report.css") + asset("print.css") + asset("portfolio.css") + asset("portfolio-print.css")
    html = environment().get_template("portfolio-pdf.html.j2").render(
        v=build_portfolio_view(portfolio), medium="print", css=_markup(css), csp=None)
    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # refused URLs name tenant data
    document = weasyprint.HTML(string=html, base_url=str(templates_dir()), url_fetcher=make_fetcher(url_fetcher_base))
    data = document.write_pdf()
    if not isinstance(data, bytes):
        raise InputError("PDF rendering produced no output")
    return data


def render_markdown(portfolio: Portfolio) -> bytes:
    """A short table for a pipeline's job summary: tenants, status, open findings by severity."""
    s = portfolio.summary
    lines = [f"## flowaudit portfolio: {s.tenants} tenant{'s' if s.tenants != 1 else ''}", "",
             f"**{md(s.verdict)}**", "",
             "| Tenant | Status | Exit | " + " | ".join(sev.capitalize() for sev in SEVERITIES) + " |",
             "|---|---|---:|" + "---:|" * len(SEVERITIES)]
    for row in portfolio.tenants:
        status = "audited" if row.status == "audited" else f"failed: {row.reason or ''}"
        counts = " | ".join(str(row.openBySeverity.get(sev, 0)) if row.status == "audited" else "—"
                            for sev in SEVERITIES)
        lines.append(f"| {md(row.name)} | {md(status[:200])} | {row.exitCode} | {counts} |")
    lines += ["", f"Open findings across tenants: {s.worstFindings}. Details in portfolio.html and each tenant's "
                  "folder.", ""]
    return "\n".join(lines).encode("utf-8")


def write_portfolio(portfolio: Portfolio, formats: list[str], output_dir: Path) -> list[Path]:
    """Render the asked files and write them into ``output_dir`` as one set."""
    from auditor._format.output import publish

    renderers = {"json": lambda p: to_json(p).encode("utf-8"), "html": render_html, "pdf": render_pdf,
                 "md": render_markdown}
    files = [(PORTFOLIO_FILES[name], renderers[name](portfolio)) for name in portfolio_formats(formats)]
    written = publish(output_dir, files, replace_set=True)
    if "md" in formats:  # on GitHub Actions, the job summary gets the portfolio's table once
        from auditor._format.md import append_step_summary

        append_step_summary(dict(files)[PORTFOLIO_FILES["md"]])
    return written
