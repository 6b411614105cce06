"""Which output formats exist (one module each in this package) and how to get one."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.errors import InputError, UsageError

if TYPE_CHECKING:
    from auditor._format.interface import Formatter, PlanAttachment

_PACKAGE = "auditor._format"
# Modules of this package that are not formats.
_NOT_FORMATS = {"interface", "registry", "output"}

FORMAT_NAMES: tuple[str, ...] = tuple(sorted(
    m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])
    if not m.name.startswith("_") and m.name not in _NOT_FORMATS))


def parse_formats(value: str | None, label: str = "--format") -> list[str]:
    """``"html, JSON"`` → ``["html", "json"]`` (in registry order); an empty list is a usage error.
    ``label`` names where the value came from (the flag, FLOWAUDIT_FORMAT, the config file)."""
    names = [part.strip().lower() for part in (value or "").split(",") if part.strip()]
    unknown = [n for n in names if n not in FORMAT_NAMES]
    if unknown:
        raise UsageError(f"{label}: unknown format(s) {', '.join(unknown)} (choose from {', '.join(FORMAT_NAMES)})")
    if not names:
        raise UsageError(f"{label}: no output format given (choose from {', '.join(FORMAT_NAMES)})")
    return [n for n in FORMAT_NAMES if n in names]


def get_formatter(name: str, plan: PlanAttachment | None = None) -> Formatter:
    from auditor._format.interface import Formatter

    if name not in FORMAT_NAMES:
        raise InputError(f"--format {name}: this output format is not available in this build")
    module = importlib.import_module(f"{_PACKAGE}.{name}")
    classes = [obj for obj in vars(module).values()
               if isinstance(obj, type) and issubclass(obj, Formatter) and obj is not Formatter
               and obj.__module__ == module.__name__]
    if len(classes) != 1:
        raise RuntimeError(f"{module.__name__} must define exactly one Formatter, found {len(classes)}")
    return classes[0](plan)
