"""Read a snapshot (directory or .zip), validating as it goes and streaming the data files.

Every problem becomes an :class:`InputError` naming the file (and line) so the CLI exits 2 with one
clear line; sign-in files can hold millions of lines, so records are yielded one at a time.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from auditor.errors import InputError
from auditor.snapshot.format import FORMAT, VERSION
from auditor.sources import STATUSES
from auditor.timefmt import iso_utc
from auditor.validation import describe_validation


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class SourceErrorInfo(_Lenient):
    httpStatus: int | None = None
    code: str | None = None
    message: str | None = None


class SourceEntry(_Lenient):
    status: str
    file: str | None = None
    count: int | None = None
    partial: bool = False
    error: SourceErrorInfo | None = None
    permission: str | None = None

    def error_text(self) -> str | None:
        """``403 Authorization_RequestDenied: Insufficient privileges…``, or None without an error."""
        if not self.error or not (self.error.httpStatus or self.error.code or self.error.message):
            return None
        bits = [str(b) for b in (self.error.httpStatus, self.error.code) if b]
        return f"{' '.join(bits)}{': ' if bits and self.error.message else ''}{self.error.message or ''}"


class SignInWindow(_Lenient):
    from_: datetime | None = Field(default=None, alias="from")
    to: datetime | None = None


class ToolInfo(_Lenient):
    name: str = "flowaudit"
    version: str = "unknown"


class Manifest(_Lenient):
    format: Literal["flowaudit-snapshot"]
    version: Literal[1]
    tenantId: str
    cloud: str = "global"
    collectedAt: datetime
    tool: ToolInfo = Field(default_factory=ToolInfo)
    signInWindow: SignInWindow | None = None
    sources: dict[str, SourceEntry]

    @property
    def collected_at_iso(self) -> str:
        return iso_utc(self.collectedAt)


class Snapshot:
    """An opened snapshot. ``name`` is how files are named in messages (path of the snapshot)."""

    def __init__(self, path: Path, manifest: Manifest, opener: _Opener) -> None:
        self.path = path
        self.manifest = manifest
        self._opener = opener

    # -- manifest helpers -------------------------------------------------------------------
    @property
    def collected_at(self) -> datetime:
        return self.manifest.collectedAt

    def source(self, key: str) -> SourceEntry | None:
        return self.manifest.sources.get(key)

    def status(self, key: str) -> str:
        entry = self.source(key)
        return entry.status if entry else "missing"

    def file_label(self, key: str) -> str:
        entry = self.source(key)
        return f"{self.path}/{entry.file}" if entry and entry.file else str(self.path)

    # -- data -------------------------------------------------------------------------------
    def iter_records(self, key: str) -> Iterator[dict[str, Any]]:
        """Yield each raw Graph object of a source, one line at a time."""
        entry = self.source(key)
        if not entry or not entry.file:
            return
        label = f"{self.path}/{entry.file}"
        with self._opener.open(entry.file, label) as raw:
            stream: IO[bytes] = gzip.GzipFile(fileobj=raw) if entry.file.endswith(".gz") else raw  # type: ignore[assignment]
            lineno = 0
            try:
                for lineno, line in enumerate(stream, start=1):
                    if not line.strip():
                        continue
                    try:
                        record = json.loads(line)
                    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                        raise InputError(f"{label}: line {lineno}: invalid JSON: {exc}") from None
                    if not isinstance(record, dict):
                        raise InputError(f"{label}: line {lineno}: expected a JSON object, got "
                                         f"{type(record).__name__}")
                    yield record
            except (OSError, EOFError, zipfile.BadZipFile) as exc:
                raise InputError(f"{label}: line {lineno + 1}: cannot read: {exc}") from None

    def first_record(self, key: str) -> dict[str, Any] | None:
        for record in self.iter_records(key):
            return record
        return None

    def records(self, key: str) -> list[dict[str, Any]]:
        return list(self.iter_records(key))


class _Opener(ABC):
    """Where a snapshot's files live: a directory or a zip archive."""

    @abstractmethod
    def exists(self, name: str) -> bool: ...

    @abstractmethod
    def open(self, name: str, label: str) -> IO[bytes]: ...


class _DirOpener(_Opener):
    def __init__(self, root: Path) -> None:
        self.root = root

    def exists(self, name: str) -> bool:
        return (self.root / name).is_file()

    def open(self, name: str, label: str) -> IO[bytes]:
        try:
            return open(self.root / name, "rb")
        except OSError as exc:
            raise InputError(f"{label}: cannot open: {exc.strerror}") from None


class _ZipOpener(_Opener):
    def __init__(self, archive: zipfile.ZipFile, prefix: str) -> None:
        self.archive = archive
        self.prefix = prefix
        self.names = set(archive.namelist())

    def exists(self, name: str) -> bool:
        return self.prefix + name in self.names

    def open(self, name: str, label: str) -> IO[bytes]:
        try:
            return self.archive.open(self.prefix + name)
        except (KeyError, zipfile.BadZipFile, OSError) as exc:
            raise InputError(f"{label}: cannot open: {exc}") from None


class _MemoryOpener(_Opener):
    """Records held in memory (tests and fixtures build a tenant without writing files)."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def exists(self, name: str) -> bool:
        return name in self.files

    def open(self, name: str, label: str) -> IO[bytes]:
        return io.BytesIO(self.files[name])


def memory_snapshot(sources: Mapping[str, list[dict[str, Any]] | str | None], *, tenant_id: str,
                    collected_at: datetime, cloud: str = "global",
                    extra: Mapping[str, dict[str, Any]] | None = None) -> Snapshot:
    """A snapshot of records in memory: ``sources`` maps a key to its records, or to a status string
    (``"forbidden"``, …) for a source without data; ``None`` leaves the source out. ``extra`` adds
    keys to a source's manifest entry."""
    from auditor.snapshot.writer import dump_line, source_entry

    files: dict[str, bytes] = {}
    entries: dict[str, Any] = {}
    for key, value in sources.items():
        if value is None:
            continue
        if isinstance(value, str):
            entries[key] = source_entry(key, status=value, file=None, count=None, partial=False, error=None)
            continue
        name = f"{key}.jsonl"
        files[name] = b"".join(dump_line(record) for record in value)
        entries[key] = source_entry(key, status="ok", file=name, count=len(value), partial=False, error=None)
    for key, keys in (extra or {}).items():
        entries.setdefault(key, {}).update(keys)
    manifest = _parse_manifest(json.dumps({
        "format": FORMAT, "version": VERSION, "tenantId": tenant_id, "cloud": cloud,
        "collectedAt": iso_utc(collected_at), "sources": entries}).encode(), "<memory>/manifest.json")
    return Snapshot(Path("<memory>"), manifest, _MemoryOpener(files))


def _safe_member(name: str) -> bool:
    pure = PurePosixPath(name)
    return bool(name) and not pure.is_absolute() and ".." not in pure.parts and "\\" not in name and len(pure.parts) == 1


def _parse_manifest(raw: bytes, label: str) -> Manifest:
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{label}: invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{label}: expected a JSON object")
    if data.get("format") != FORMAT:
        raise InputError(f"{label}: not a flowaudit snapshot manifest (format is {data.get('format')!r}, "
                         f"expected {FORMAT!r})")
    if data.get("version") != VERSION:
        raise InputError(f"{label}: unsupported snapshot version {data.get('version')!r} "
                         f"(this flowaudit reads version {VERSION})")
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{label}: {describe_validation(exc)}") from None
    for key, entry in manifest.sources.items():
        if entry.status not in STATUSES:
            raise InputError(f"{label}: source '{key}' has unknown status {entry.status!r} "
                             f"(expected one of {', '.join(STATUSES)})")
        if entry.file is not None and not _safe_member(entry.file):
            raise InputError(f"{label}: source '{key}' names an unsafe file path {entry.file!r}")
        if entry.file is not None and not entry.file.endswith((".jsonl", ".jsonl.gz")):
            raise InputError(f"{label}: source '{key}' file {entry.file!r} must end in .jsonl or .jsonl.gz")
    if manifest.collectedAt.tzinfo is None:
        raise InputError(f"{label}: collectedAt must carry a UTC offset (e.g. 2026-01-31T02:00:00Z)")
    return manifest


def open_snapshot(path: str | Path) -> Snapshot:
    """Open and validate a snapshot directory or zip; raise :class:`InputError` when it is not valid."""
    snap_path = Path(path)
    if not snap_path.exists():
        raise InputError(f"{snap_path}: snapshot not found")
    if snap_path.is_dir():
        manifest_path = snap_path / "manifest.json"
        if not manifest_path.is_file():
            raise InputError(f"{snap_path}: not a flowaudit snapshot (no manifest.json)")
        manifest = _parse_manifest(manifest_path.read_bytes(), str(manifest_path))
        opener: _Opener = _DirOpener(snap_path)
    else:
        try:
            archive = zipfile.ZipFile(snap_path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise InputError(f"{snap_path}: not a snapshot directory or zip file ({exc})") from None
        names = archive.namelist()
        candidates = [n for n in names if n == "manifest.json" or
                      (n.endswith("/manifest.json") and n.count("/") == 1)]
        if not candidates:
            raise InputError(f"{snap_path}: zip file is not a flowaudit snapshot (no manifest.json at its top)")
        manifest_name = sorted(candidates, key=len)[0]
        prefix = manifest_name[: -len("manifest.json")]
        try:
            raw = archive.read(manifest_name)
        except (zipfile.BadZipFile, OSError) as exc:
            raise InputError(f"{snap_path}/{manifest_name}: cannot read: {exc}") from None
        manifest = _parse_manifest(raw, f"{snap_path}/{manifest_name}")
        opener = _ZipOpener(archive, prefix)
    for key, entry in manifest.sources.items():
        if entry.file and not opener.exists(entry.file):
            raise InputError(f"{snap_path}/manifest.json: source '{key}' names file '{entry.file}', "
                             "which is missing from the snapshot")
    return Snapshot(snap_path, manifest, opener)


def read_json_file(path: Path) -> Any:
    """Read a whole JSON document (used for result files), naming the file on failure."""
    try:
        return json.loads(Path(path).read_bytes())
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: invalid JSON: {exc}") from None


__all__ = ["Manifest", "Snapshot", "SourceEntry", "memory_snapshot", "open_snapshot", "read_json_file"]
