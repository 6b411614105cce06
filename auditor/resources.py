"""Where the bundled rules, templates and samples live.

The product layout keeps them at the repository top level (``rules/``, ``reports/templates/``,
``samples/``); a built wheel carries them as ``auditor/_data/...``. Look in the package first so an
installed flowaudit never reaches for a checkout that happens to sit beside it.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent

_LAYOUT = {
    "rules": ("_data/rules", "rules"),
    "templates": ("_data/templates", "reports/templates"),
    "samples": ("_data/samples", "samples"),
}


def resource_dir(kind: str) -> Path:
    packaged, checkout = _LAYOUT[kind]
    for candidate in (_PACKAGE / packaged, _CHECKOUT / checkout):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"flowaudit installation is incomplete: no {kind} directory found")


def rules_dir() -> Path:
    return resource_dir("rules")


def templates_dir() -> Path:
    return resource_dir("templates")


def samples_dir() -> Path:
    return resource_dir("samples")


def sample_names() -> list[str]:
    return sorted(p.name for p in samples_dir().iterdir() if (p / "manifest.json").is_file())
