"""Incremental sign-ins: fetch only what is newer than the previous snapshot's window, then merge."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.snapshot import open_snapshot
from auditor.snapshot.reader import Snapshot
from auditor.sources import OK


@dataclass
class PreviousSignIns:
    snapshot: Snapshot
    window_to: datetime
    partial: bool

    @property
    def tenant_id(self) -> str:
        return self.snapshot.manifest.tenantId


def load_previous(path: Path) -> PreviousSignIns | None:
    """The previous snapshot's sign-ins, or None when it has none to build on (then fetch all)."""
    snapshot = open_snapshot(path)
    entry = snapshot.source("signIns")
    window = snapshot.manifest.signInWindow
    if entry is None or entry.status != OK or not entry.file or window is None or window.to is None:
        return None
    if window.to.tzinfo is None:
        raise InputError(f"{path}/manifest.json: signInWindow.to must carry a UTC offset")
    return PreviousSignIns(snapshot, window.to, entry.partial)


def _created(record: dict[str, Any]) -> datetime | None:
    value = record.get("createdDateTime")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def merge(fresh: Iterable[dict[str, Any]], previous: PreviousSignIns, since: datetime) -> Iterator[dict[str, Any]]:
    """New records first (Graph's newest-first order), then older ones not seen again and still in the window."""
    seen: set[Any] = set()
    for record in fresh:
        seen.add(record.get("id"))
        yield record
    for record in previous.snapshot.iter_records("signIns"):
        if record.get("id") in seen:
            continue
        created = _created(record)
        if created is None or created < since:
            continue
        seen.add(record.get("id"))
        yield record
