"""The one interface an output format implements."""

from __future__ import annotations

from abc import ABC, abstractmethod

from auditor.result import AuditResult


class Formatter(ABC):
    #: file name inside --output-dir (SPEC §7)
    filename: str

    @abstractmethod
    def format(self, result: AuditResult) -> bytes:
        """Render the whole result; must be deterministic for a given result."""
