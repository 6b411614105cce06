"""The one interface an output format implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auditor.plan.model import Plan
    from auditor.result import AuditResult


class Formatter(ABC):
    #: file name inside --output-dir
    filename: str
    #: a change plan to append (``report --plan``); formats for people show it, the others ignore it
    plan: Plan | None = None
    plan_dir: Path | None = None  # where the plan file is (its inputs name files relative to it)

    @abstractmethod
    def format(self, result: AuditResult) -> bytes:
        """Render the whole result; must be deterministic for a given result."""

    def published(self, data: bytes) -> None:  # noqa: B027 - optional hook, empty by default
        """Called once the file is in place (e.g. Markdown also goes to a CI job summary)."""
