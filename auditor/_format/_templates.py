"""Jinja2 environment over ``reports/templates`` (autoescape on) and the report's static assets."""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from auditor._format._view import ReportView
from auditor.resources import templates_dir


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=True,  # every template, whatever its extension: tenant text is never markup
        undefined=StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
    )
    return env


def asset(name: str) -> str:
    """A bundled CSS/JS file (ours, not tenant data)."""
    return (templates_dir() / name).read_text(encoding="utf-8")


def csp_source(text: str) -> str:
    """CSP hash source of an inline block: allows exactly this text and nothing injected."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def render(template: str, view: ReportView, *, medium: str, css: str, script: str | None = None,
           csp: str | None = None) -> str:
    return environment().get_template(template).render(
        v=view, medium=medium, css=Markup(css), script=Markup(script) if script else None, csp=csp)
