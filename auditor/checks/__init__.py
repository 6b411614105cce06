"""Check functions, one per rule, registered by id with :func:`check`.

A check receives a :class:`CheckContext` and returns the :class:`Hit` list (empty = pass). It raises
:class:`NotApplicable` when there is nothing to judge, and :class:`NotEvaluated` when data it needs
is missing beyond the sources the engine already verified (e.g. a per-flow child not collected).
Modules in this package are discovered automatically: a rule is its YAML file in ``rules/`` and one
function here; adding one touches nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from auditor.catalog import Remediation
from auditor.model.tenant import Tenant
from auditor.result import Resource

__all__ = ["CHECKS", "CheckContext", "CheckFunction", "Hit", "NotApplicable", "NotEvaluated", "Resource", "check",
           "load_checks"]


@dataclass
class Hit:
    """One affected resource: becomes one finding (its ``resource.type`` must be the rule's resourceType)."""

    resource: Resource
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    remediation: Remediation | None = None  # only when this resource needs something else than the rule says


class NotApplicable(Exception):
    """Nothing in the tenant for this rule to judge (e.g. no API connector at all)."""


class NotEvaluated(Exception):
    """The data needed is missing; the message says which and why."""


@dataclass
class CheckContext:
    tenant: Tenant
    params: dict[str, Any]
    now: datetime  # the snapshot's collectedAt: re-auditing an old snapshot gives the same answer
    notes: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        """A remark that qualifies the outcome (e.g. a fallback taken); shown with the rule."""
        if text not in self.notes:
            self.notes.append(text)

    def gap(self, text: str) -> None:
        """Some data the rule needs is missing (e.g. one flow's children were not collected).

        Findings from the data that is there still count; but with no finding the rule is
        ``notEvaluated``, because the missing part might have failed it.
        """
        if text not in self.gaps:
            self.gaps.append(text)


CheckFunction = Callable[[CheckContext], list[Hit]]
CHECKS: dict[str, CheckFunction] = {}


def check(rule_id: str) -> Callable[[CheckFunction], CheckFunction]:
    def register(func: CheckFunction) -> CheckFunction:
        if rule_id in CHECKS:
            raise RuntimeError(f"two checks registered for {rule_id}")
        CHECKS[rule_id] = func
        return func

    return register


def load_checks() -> dict[str, CheckFunction]:
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    return CHECKS
