"""Output formats: one module per format, each a :class:`~auditor._format.interface.Formatter`.

Formats are imported only when asked for, so ``--format json`` never pays for WeasyPrint.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from auditor import atomic
from auditor._format.interface import Formatter
from auditor.errors import InputError
from auditor.result import AuditResult

# format name -> (module, class). Order is the order files are written and listed.
FORMATS: dict[str, tuple[str, str]] = {
    "json": ("auditor._format.json", "JsonFormat"),
    "html": ("auditor._format.html", "HtmlFormat"),
    "pdf": ("auditor._format.pdf", "PdfFormat"),
    "sarif": ("auditor._format.sarif", "SarifFormat"),
    "junit": ("auditor._format.junit", "JunitFormat"),
    "md": ("auditor._format.markdown", "MarkdownFormat"),
}


def parse_formats(value: str | None) -> list[str]:
    names = [part.strip().lower() for part in (value or "").split(",") if part.strip()]
    unknown = [n for n in names if n not in FORMATS]
    if unknown:
        raise InputError(f"--format: unknown format(s) {', '.join(unknown)} (choose from {', '.join(FORMATS)})")
    return [n for n in FORMATS if n in names]


def get_formatter(name: str) -> Formatter:
    module_name, class_name = FORMATS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("auditor"):
            raise InputError(f"--format {name}: this output format is not available in this build") from None
        raise
    return getattr(module, class_name)()


def write_outputs(result: AuditResult, names: list[str], output_dir: Path) -> list[Path]:
    """Render every requested format before writing any, then write each atomically."""
    rendered = []
    for name in names:
        formatter = get_formatter(name)
        rendered.append((output_dir / formatter.filename, formatter.format(result)))
    written = []
    for path, data in rendered:
        atomic.write_bytes(path, data)
        written.append(path)
    if "md" in names:  # a CI job summary gets the Markdown too (GITHUB_STEP_SUMMARY)
        from auditor._format.markdown import MarkdownFormat, append_step_summary

        append_step_summary(next(data for path, data in rendered if path.name == MarkdownFormat.filename))
    return written
