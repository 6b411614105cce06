"""The one interface an output format implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auditor.plan.model import Plan
    from auditor.result import AuditResult


@dataclass(frozen=True)
class PlanAttachment:
    """A change plan to append to a report (``report --plan``)."""

    plan: Plan
    directory: Path  # where the plan file is: its inputs name files relative to it


class Formatter(ABC):
    #: file name inside --output-dir
    filename: str

    def __init__(self, plan: PlanAttachment | None = None) -> None:
        #: formats for people show the plan; the others ignore it
        self.plan = plan

    @abstractmethod
    def format(self, result: AuditResult) -> bytes:
        """Render the whole result; must be deterministic for a given result."""

    def published(self, data: bytes) -> None:  # noqa: B027 - optional hook, empty by default
        """Called once the file is in place (e.g. Markdown also goes to a CI job summary)."""
