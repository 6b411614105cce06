"""Tenant text made safe for the plain-text places flowaudit writes it: a terminal and Markdown.

(HTML and PDF escape through jinja2's autoescape; JUnit through its XML writer.) Both helpers
also redact URL secrets, so a hand-edited result cannot put one on a screen or in a PR comment.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from auditor.redact import redact_text

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def for_terminal(value: Any) -> str:
    """Control characters (ANSI escapes, newlines) become '?': tenant text cannot drive the terminal."""
    text = redact_text(str(value if value is not None else ""))
    return "".join("?" if unicodedata.category(ch).startswith("C") else ch for ch in text)


def for_markdown(value: Any) -> str:
    """Plain text inside Markdown (a table cell too): one line, no markup, links, images or HTML."""
    flat = " ".join(redact_text(str(value if value is not None else "")).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", for_terminal(flat))
