"""Remedies, registered by rule id with :func:`remedy` (like the checks' ``@check``).

A remedy receives the finding and a :class:`RemedyContext` (the snapshot the result was audited
from, its typed tenant, the Graph root of its cloud) and returns one or more :class:`Draft` changes,
or raises :class:`NoRemedy` saying why this finding cannot be planned. A rule without a remedy is
simply not planned (listed with its reason): adding a rule never requires a remedy. Modules in
this package are discovered automatically.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import quote

from auditor.model.tenant import Tenant
from auditor.plan.model import Check, Need, Request, Step
from auditor.plan.permissions import WritePermission
from auditor.result import AuditResult, Finding
from auditor.snapshot.reader import Snapshot
from auditor.sources import BY_KEY


class NoRemedy(Exception):
    """This finding cannot be planned (its data is not in the snapshot, or it needs a person)."""


@dataclass
class Draft:
    """A change before it gets its id: drafts with the same ``key`` fix several findings at once."""

    key: Hashable
    summary: str
    steps: list[Step]
    needs: list[Need] = field(default_factory=list)
    note: str | None = None
    resource: tuple[str, str] | None = None  # (type, id) the change writes, when it is one resource
    deletes: bool = False  # it deletes that resource: other changes to it are not planned


@dataclass
class RemedyContext:
    snapshot: Snapshot
    tenant: Tenant
    result: AuditResult
    root: str  # Graph root of the snapshot's cloud, e.g. https://graph.microsoft.com

    def url(self, source_key: str, suffix: str = "", *, query: str = "") -> str:
        """Full URL of a source's path (auditor/sources.py) plus an item suffix."""
        source = BY_KEY[source_key]
        return f"{self.root}/{source.api}{source.path}{suffix}" + (f"?{query}" if query else "")

    @staticmethod
    def item(identifier: str) -> str:
        return "/" + quote(identifier, safe="")

    def records(self, key: str) -> list[dict[str, Any]]:
        return self._records.setdefault(key, self.snapshot.records(key) if self.tenant.is_ok(key) else [])

    def record(self, key: str, identifier: str) -> dict[str, Any] | None:
        wanted = identifier.casefold()
        return next((r for r in self.records(key) if str(r.get("id", "")).casefold() == wanted), None)

    def single(self, key: str) -> dict[str, Any] | None:
        found = self.records(key)
        return found[0] if found else None

    @cached_property
    def _records(self) -> dict[str, list[dict[str, Any]]]:
        return {}


RemedyFunction = Callable[[RemedyContext, Finding], list[Draft]]
REMEDIES: dict[str, RemedyFunction] = {}


def remedy(*rule_ids: str) -> Callable[[RemedyFunction], RemedyFunction]:
    def register(func: RemedyFunction) -> RemedyFunction:
        for rule_id in rule_ids:
            if rule_id in REMEDIES:
                raise RuntimeError(f"two remedies registered for {rule_id}")
            REMEDIES[rule_id] = func
        return func

    return register


def load_remedies() -> dict[str, RemedyFunction]:
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    return REMEDIES


# --- building blocks ---------------------------------------------------------------------------

def check(description: str, url: str, op: str, pointer: str = "", value: Any = None, **extra: Any) -> Check:
    return Check.model_validate({"description": description, "url": url, "op": op, "pointer": pointer,
                                 "value": value, **extra})


def request(method: str, url: str, body: Any = None) -> Request:
    return Request.model_validate({"method": method, "url": url, "body": body})


def need(name: str, kind: str, prompt: str, **extra: Any) -> Need:
    return Need.model_validate({"name": name, "kind": kind, "prompt": prompt, **extra})


def read_permissions(*source_keys: str) -> list[str]:
    """What the precondition reads need: the collecting identity's permission for those sources."""
    return sorted({p for key in source_keys for p in BY_KEY[key].permissions})


def step(step_id: str, description: str, req: Request, write: WritePermission, *, reads: tuple[str, ...] = (),
         precondition: list[Check] | None = None, rollback: list[Step] | None = None,
         rollback_needs: list[Need] | None = None, rollback_note: str | None = None,
         when: dict[str, Any] | None = None) -> Step:
    return Step.model_validate({
        "id": step_id, "description": description, "request": req, "permission": write.permission,
        "alsoRequires": list(write.also), "readPermissions": read_permissions(*reads),
        "precondition": precondition or [], "rollback": rollback or [], "rollbackNeeds": rollback_needs or [],
        "rollbackNote": rollback_note, "when": when})
