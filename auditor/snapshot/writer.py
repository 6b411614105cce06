"""Write a snapshot atomically: build it in a temp directory beside the target, then rename.

Used by the collector, the synthetic tenant generator and the tests' snapshot helpers, so there is
one writer of the format. A run that fails midway leaves no half-written snapshot behind.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor.sources import BY_KEY, OK

FORMAT = "flowaudit-snapshot"
VERSION = 1


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def source_entry(key: str, *, status: str, file: str | None, count: int | None, partial: bool,
                 error: dict[str, Any] | None) -> dict[str, Any]:
    """A source's manifest entry (the one shape every writer of snapshots uses)."""
    entry: dict[str, Any] = {"status": status}
    if file is not None:
        entry["file"] = file
        entry["count"] = count
    entry["partial"] = partial
    if error:
        entry["error"] = {k: error.get(k) for k in ("httpStatus", "code", "message")}
    source = BY_KEY.get(key)
    if source:
        entry["permission"] = source.permission
    return entry


def dump_line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


class SnapshotWriter:
    def __init__(
        self,
        dest: str | os.PathLike[str],
        *,
        tenant_id: str,
        collected_at: datetime,
        cloud: str = "global",
        sign_in_window: tuple[datetime, datetime] | None = None,
    ) -> None:
        self.dest = Path(dest)
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = Path(tempfile.mkdtemp(prefix=f".{self.dest.name}.", dir=self.dest.parent))
        self.manifest: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "tenantId": tenant_id,
            "cloud": cloud,
            "collectedAt": iso_utc(collected_at),
            "tool": {"name": "flowaudit", "version": __version__},
            "signInWindow": (
                {"from": iso_utc(sign_in_window[0]), "to": iso_utc(sign_in_window[1])} if sign_in_window else None
            ),
            "sources": {},
        }
        self._closed = False

    def write_source(
        self,
        key: str,
        records: Iterable[dict[str, Any]],
        *,
        status: str = OK,
        partial: bool = False,
        error: dict[str, Any] | None = None,
        compress: bool | None = None,
    ) -> int:
        """Write one source's records (streamed) and record its status; returns the count."""
        if compress is None:
            compress = key == "signIns"
        name = f"{key}.jsonl.gz" if compress else f"{key}.jsonl"
        path = self._tmp / name
        count = 0
        # mtime=0 keeps gzip output byte-identical between runs.
        with open(path, "wb") as raw:
            out = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) if compress else raw
            try:
                for record in records:
                    out.write(dump_line(record))
                    count += 1
            finally:
                if compress:
                    out.close()
        self._set(key, status=status, file=name, count=count, partial=partial, error=error)
        return count

    def set_status(self, key: str, status: str, *, error: dict[str, Any] | None = None) -> None:
        """Record a source that produced no data (forbidden, unlicensed, ...)."""
        self._set(key, status=status, file=None, count=None, partial=False, error=error)

    def _set(self, key: str, *, status: str, file: str | None, count: int | None, partial: bool,
             error: dict[str, Any] | None) -> None:
        self.manifest["sources"][key] = source_entry(key, status=status, file=file, count=count, partial=partial,
                                                     error=error)

    def close(self) -> Path:
        """Write the manifest and move the snapshot into place (directory, or zip if dest ends .zip)."""
        self.manifest["sources"] = dict(sorted(self.manifest["sources"].items()))
        (self._tmp / "manifest.json").write_text(json.dumps(self.manifest, indent=2) + "\n", encoding="utf-8")
        if self.dest.suffix == ".zip":
            fd, tmp_zip = tempfile.mkstemp(prefix=f".{self.dest.name}.", dir=self.dest.parent)
            os.close(fd)
            with zipfile.ZipFile(tmp_zip, "w", zipfile.ZIP_DEFLATED) as archive:
                for member in sorted(self._tmp.iterdir()):
                    info = zipfile.ZipInfo(member.name, date_time=(1980, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, member.read_bytes())
            os.replace(tmp_zip, self.dest)
            shutil.rmtree(self._tmp)
        else:
            backup = None
            if self.dest.exists():
                backup = self.dest.with_name(f".{self.dest.name}.old")
                if backup.exists():
                    shutil.rmtree(backup)
                os.replace(self.dest, backup)
            os.replace(self._tmp, self.dest)
            if backup:
                shutil.rmtree(backup)
        self._closed = True
        return self.dest

    def abort(self) -> None:
        if not self._closed:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> SnapshotWriter:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
