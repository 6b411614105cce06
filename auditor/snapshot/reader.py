"""Read a snapshot (directory or .zip), validating as it goes and streaming the data files.

The rules a snapshot must follow, and what happens when it does not, are in docs/snapshot-format.md.
In short: a structural problem (a manifest that contradicts itself or the format, a file missing,
unreadable, undecodable or not a regular file, a zip with two members of one name) is an
:class:`InputError` naming the file (and line and field) so the CLI exits 2 with one clear line; a
data file whose number of records disagrees with the manifest's ``count`` raises
:class:`SourceDamaged` when its stream ends, which the tenant model turns into a damaged source
(its rules are not evaluated). Sign-in files can hold millions of lines, so records are yielded one
at a time and counted on the way, never read twice.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
import zipfile
import zlib
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Annotated, Any, Literal, TypeVar

import msgspec
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

from auditor.connection import CLOUDS
from auditor.errors import InputError
from auditor.snapshot.format import FORMAT, VERSION
from auditor.sources import ERROR, OK, SOURCE_KEYS, STATUSES
from auditor.timefmt import EARLIEST, LATEST, iso_utc
from auditor.validation import describe_validation

T = TypeVar("T")
# collectedAt lies in [EARLIEST, LATEST) (auditor/timefmt.py): a snapshot is taken by a tool that talks
# to Graph, and the rules' date arithmetic stays far from datetime's limits.
# Graph objects nest a few levels (a Conditional Access policy about eight); anything deeper is not
# Graph data, and would exhaust Python's recursion in the JSON decoder or in code walking it.
MAX_DEPTH = 64
# A count past this is not a number of Graph objects anyone collected (and not a float, string or null).
MAX_COUNT = 10**12
# Statuses under which a source may have a data file: ok, and error (what was read before it failed).
DATA_STATUSES = (OK, ERROR)
ZIP_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA})
# Everything a damaged or hostile data file can raise while it is decompressed and decoded.
_READ_ERRORS = (OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError,
                ValueError)


def _utc_timestamp(value: Any) -> datetime:
    """An ISO-8601 string with a UTC offset (``Z`` or ``+00:00``) inside [EARLIEST, LATEST)."""
    if not isinstance(value, str):
        raise ValueError(f"must be an ISO-8601 UTC string such as 2026-01-31T02:00:00Z, not {type(value).__name__}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"must be an ISO-8601 UTC string such as 2026-01-31T02:00:00Z, got {value!r}") from None
    if moment.tzinfo is None or moment.utcoffset() != timezone.utc.utcoffset(None):
        raise ValueError(f"must be in UTC (end in Z), got {value!r}")
    if not EARLIEST <= moment < LATEST:
        raise ValueError(f"{value!r} is outside {EARLIEST.year}-{LATEST.year - 1} (not a time a snapshot was taken)")
    return moment


UtcTimestamp = Annotated[datetime, BeforeValidator(_utc_timestamp)]


def _non_empty(value: str) -> str:
    # Not Field(min_length=1): pydantic's length check refuses text with a lone surrogate.
    if not value:
        raise ValueError("must not be empty")
    return value


class _Lenient(BaseModel):
    # Unknown keys are kept (a newer writer may add some); known keys are strictly typed.
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class SourceErrorInfo(_Lenient):
    httpStatus: StrictInt | None = None
    code: StrictStr | None = None
    message: StrictStr | None = None


class SourceEntry(_Lenient):
    status: StrictStr
    file: StrictStr | None = None
    count: Annotated[StrictInt, Field(ge=0, le=MAX_COUNT)] | None = None
    partial: StrictBool = False
    error: SourceErrorInfo | None = None
    permission: StrictStr | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_null_count(cls, data: Any) -> Any:
        # Absent means "no data file"; null says nothing and would let a missing count pass for zero.
        if isinstance(data, dict) and "count" in data and data["count"] is None:
            raise ValueError("count is null: it must be a non-negative integer (or absent when there is no file)")
        return data

    def error_text(self) -> str | None:
        """``403 Authorization_RequestDenied: Insufficient privileges…``, or None without an error."""
        if not self.error or not (self.error.httpStatus or self.error.code or self.error.message):
            return None
        bits = [str(b) for b in (self.error.httpStatus, self.error.code) if b]
        return f"{' '.join(bits)}{': ' if bits and self.error.message else ''}{self.error.message or ''}"


class SignInWindow(_Lenient):
    from_: UtcTimestamp | None = Field(default=None, alias="from")
    to: UtcTimestamp | None = None

    @model_validator(mode="after")
    def _ordered(self) -> SignInWindow:
        if self.from_ is not None and self.to is not None and self.from_ > self.to:
            raise ValueError(f"'from' ({iso_utc(self.from_)}) is after 'to' ({iso_utc(self.to)})")
        return self


# The collector takes the window's end and collectedAt from one clock reading; a day of slack.
WINDOW_SLACK = timedelta(days=1)


class ToolInfo(_Lenient):
    name: StrictStr = "flowaudit"
    version: StrictStr = "unknown"


class Manifest(_Lenient):
    format: Literal["flowaudit-snapshot"]
    version: Literal[1]
    tenantId: Annotated[StrictStr, AfterValidator(_non_empty)]
    cloud: Literal[CLOUDS] = "global"  # type: ignore[valid-type]
    collectedAt: UtcTimestamp
    tool: ToolInfo = Field(default_factory=ToolInfo)
    signInWindow: SignInWindow | None = None
    sources: dict[str, SourceEntry]

    @model_validator(mode="after")
    def _window_ends_at_collection(self) -> Manifest:
        # A window that ends long before or after the collection means one of the two times is wrong,
        # and every rule measuring time against collectedAt would be judged at the wrong moment.
        window = self.signInWindow
        if window is not None and window.to is not None and abs(window.to - self.collectedAt) > WINDOW_SLACK:
            raise ValueError(f"signInWindow.to ({iso_utc(window.to)}) is not the collection time "
                             f"(collectedAt {iso_utc(self.collectedAt)})")
        return self

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
    def iter_numbered(self, key: str, *, walked: bool = True) -> Iterator[tuple[int, dict[str, Any]]]:
        """Yield ``(line number, raw Graph object)`` for each record of a source, one line at a time.

        When the stream ends, the number of records read is compared with the manifest's ``count``:
        a difference raises :class:`SourceDamaged` (a consumer that stops early learns nothing).
        ``walked=False`` is for a consumer that never walks a record's nested values (the sign-in
        fold reads a few top-level fields): it skips the MAX_DEPTH check, which costs a sixth of the
        decoding on million-line files; nesting too deep for the decoder itself is still an error.
        """
        for lineno, line, label in self._lines(key):
            yield lineno, _decode_line(line, label, lineno, walked)

    def iter_typed(self, key: str, decoder: msgspec.json.Decoder[T]) -> Iterator[tuple[int, T | dict[str, Any]]]:
        """:meth:`iter_numbered` for a consumer that reads a few fields of a huge source (sign-ins):
        each line is decoded straight into ``decoder``'s type, which skips every other field in C
        (several times faster than building the whole object). A line that does not fit the type
        (a missing field, a value of another type, not JSON) is decoded as :meth:`iter_numbered`
        decodes it, with the same errors, and yielded as the raw object, for the consumer to judge
        as before. The record count is compared with the manifest in the same way."""
        typed = decoder.decode
        for lineno, line, label in self._lines(key):
            try:
                record: T | dict[str, Any] = typed(line)
            except (msgspec.DecodeError, RecursionError):  # ValidationError (another shape) is a DecodeError
                record = _decode_line(line, label, lineno, walked=False)
            yield lineno, record

    def _lines(self, key: str) -> Iterator[tuple[int, bytes, str]]:
        """``(line number, line, file label)`` for each non-blank line of a source's file; a file that
        cannot be read is an InputError, a record count other than the manifest's SourceDamaged."""
        entry = self.source(key)
        if not entry or not entry.file:
            return
        label = f"{self.path}/{entry.file}"
        records = 0
        with self._opener.open(entry.file, label) as raw:
            stream: IO[bytes] = gzip.GzipFile(fileobj=raw) if entry.file.endswith(".gz") else raw  # type: ignore[assignment]
            lineno = 0
            try:
                for lineno, line in enumerate(stream, start=1):
                    if not line.strip():
                        continue
                    records += 1
                    yield lineno, line, label
            except _READ_ERRORS as exc:
                raise InputError(f"{label}: line {lineno + 1}: cannot read: {_describe(exc)}") from None
        if entry.count is not None and records != entry.count:
            raise SourceDamaged(key, f"{label}: holds {records} record(s) but the manifest's count for {key} "
                                     f"says {entry.count}")

    def iter_records(self, key: str) -> Iterator[dict[str, Any]]:
        """Yield each raw Graph object of a source (see :meth:`iter_numbered`)."""
        for _, record in self.iter_numbered(key):
            yield record

    def first_record(self, key: str) -> dict[str, Any] | None:
        for record in self.iter_records(key):
            return record
        return None

    def records(self, key: str) -> list[dict[str, Any]]:
        return list(self.iter_records(key))


class SourceDamaged(InputError):
    """A source's data file disagrees with its manifest entry (found when its stream ends).

    An :class:`InputError`, so a consumer that does not handle it stops with exit 2; the tenant model
    handles it by marking the source damaged, which makes the rules reading it not evaluated.
    """

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, zlib.error):
        return f"corrupt compressed data ({text})"
    if isinstance(exc, EOFError):
        return f"the compressed stream ends early ({text or 'truncated'})"
    return text or type(exc).__name__


def _depth(value: Any) -> int:
    """How deeply containers nest in a decoded JSON value (iterative: no recursion to exhaust)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


# msgspec decodes JSON about twice as fast as the standard library (the parse is most of an
# offline audit's time: a sign-in log is hundreds of thousands of lines). What msgspec refuses is
# parsed again by the standard library, so a line is accepted exactly when json.loads accepts it
# (lone surrogate escapes, NaN, UTF-16 text), and a line both refuse gets json's message, as before.
_GENERIC = msgspec.json.Decoder()


def _decode_line(line: bytes, label: str, lineno: int, walked: bool = True) -> dict[str, Any]:
    try:
        record = _GENERIC.decode(line)
    except (msgspec.DecodeError, RecursionError):  # msgspec has its own depth limit
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{label}: line {lineno}: invalid JSON: {exc}") from None
        except RecursionError:
            raise InputError(f"{label}: line {lineno}: JSON nested deeper than {MAX_DEPTH} levels "
                             "(not a Graph object)") from None
    if not isinstance(record, dict):
        raise InputError(f"{label}: line {lineno}: expected a JSON object, got {type(record).__name__}")
    # Counting brackets is cheap and bounds the depth from above: only a line with many of them
    # (most sign-ins have fewer than MAX_DEPTH) is walked.
    if walked and line.count(b"{") + line.count(b"[") > MAX_DEPTH and _depth(record) > MAX_DEPTH:
        raise InputError(f"{label}: line {lineno}: JSON nested deeper than {MAX_DEPTH} levels (not a Graph object)")
    return record


class _Opener(ABC):
    """Where a snapshot's files live: a directory or a zip archive."""

    @abstractmethod
    def check(self, name: str, label: str) -> None:
        """Raise :class:`InputError` unless ``name`` is a readable regular file of the snapshot."""

    @abstractmethod
    def open(self, name: str, label: str) -> IO[bytes]: ...


class _DirOpener(_Opener):
    """A snapshot directory. Its files must be regular files in it: a symbolic link, even to another
    file of the snapshot, is refused (the writer never makes one; one file standing for two sources,
    or bytes from outside the snapshot, would be audited as this tenant's data)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def check(self, name: str, label: str) -> None:
        try:
            mode = os.lstat(self.root / name).st_mode
        except FileNotFoundError:
            raise InputError(f"{label}: missing from the snapshot") from None
        except OSError as exc:
            raise InputError(f"{label}: cannot read: {exc.strerror}") from None
        if stat.S_ISLNK(mode):
            raise InputError(f"{label}: is a symbolic link; a snapshot's files must be regular files inside it")
        if not stat.S_ISREG(mode):
            raise InputError(f"{label}: is not a regular file")

    def open(self, name: str, label: str) -> IO[bytes]:
        # O_NOFOLLOW: a link swapped in after check() is still refused; O_NONBLOCK: a FIFO does not hang.
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(self.root / name, flags)
        except OSError as exc:
            if exc.errno == getattr(os, "ELOOP", None):
                raise InputError(f"{label}: is a symbolic link; a snapshot's files must be regular files "
                                 "inside it") from None
            raise InputError(f"{label}: cannot open: {exc.strerror}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise InputError(f"{label}: is not a regular file")
        return os.fdopen(fd, "rb")


class _ZipOpener(_Opener):
    def __init__(self, archive: zipfile.ZipFile, prefix: str, label: str) -> None:
        self.archive = archive
        self.prefix = prefix
        counts = Counter(archive.namelist())
        twice = sorted(name for name, n in counts.items() if n > 1)
        if twice:
            # zipfile silently reads the last of them: which bytes are audited would be a guess.
            raise InputError(f"{label}: zip holds {len(twice)} member name(s) more than once "
                             f"({', '.join(repr(n) for n in twice[:5])}): not a valid snapshot")
        self.names = set(counts)

    def check(self, name: str, label: str) -> None:
        member = self.prefix + name
        if member not in self.names:
            raise InputError(f"{label}: missing from the snapshot")
        info = self.archive.getinfo(member)
        if info.flag_bits & 0x1:
            raise InputError(f"{label}: zip member is encrypted; snapshots are not")
        if info.compress_type not in ZIP_METHODS:
            raise InputError(f"{label}: zip member uses compression method {info.compress_type}, which "
                             "flowaudit cannot read (use deflate)")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise InputError(f"{label}: zip member is a symbolic link; a snapshot's files must be regular files")
        if info.is_dir():
            raise InputError(f"{label}: is a directory in the zip, not a file")

    def open(self, name: str, label: str) -> IO[bytes]:
        self.check(name, label)
        try:
            return self.archive.open(self.prefix + name)
        except _READ_ERRORS as exc:
            raise InputError(f"{label}: cannot open: {_describe(exc)}") from None


class _MemoryOpener(_Opener):
    """Records held in memory (tests and fixtures build a tenant without writing files)."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def check(self, name: str, label: str) -> None:
        if name not in self.files:
            raise InputError(f"{label}: missing from the snapshot")

    def open(self, name: str, label: str) -> IO[bytes]:
        return io.BytesIO(self.files[name])


def memory_snapshot(sources: Mapping[str, list[dict[str, Any]] | str | None], *, tenant_id: str,
                    collected_at: datetime, cloud: str = "global",
                    extra: Mapping[str, dict[str, Any]] | None = None) -> Snapshot:
    """A snapshot of records in memory: ``sources`` maps a key to its records, or to a status string
    (``"forbidden"``, …) for a source without data; ``None`` leaves the source out. ``extra`` adds
    keys to a source's manifest entry."""
    from auditor.snapshot.writer import source_entry

    def dump_line(record: dict[str, Any]) -> bytes:
        # ASCII-escaped: a test's lone surrogate ("\ud800") survives as it would from Graph.
        return json.dumps(record, separators=(",", ":")).encode("ascii") + b"\n"

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


def _check_entries(manifest: Manifest, label: str) -> None:
    """What pydantic cannot say field by field: the entries agree with the format and with each other."""
    for key, entry in manifest.sources.items():
        def field(name: str, key: str = key) -> str:
            return f"{label}: field 'sources.{key}.{name}'"

        if key not in SOURCE_KEYS:
            raise InputError(f"{label}: field 'sources': unknown source key {key!r} (known: {', '.join(SOURCE_KEYS)})")
        if entry.status not in STATUSES:
            raise InputError(f"{field('status')}: unknown status {entry.status!r} "
                             f"(expected one of {', '.join(STATUSES)})")
        if entry.file is not None and entry.file not in (f"{key}.jsonl", f"{key}.jsonl.gz"):
            # The one file name the format allows: no path (../x), no other source's file.
            raise InputError(f"{field('file')}: {entry.file!r} is not this source's data file "
                             f"(expected {key}.jsonl or {key}.jsonl.gz)")
        if entry.file is not None and entry.count is None:
            raise InputError(f"{field('count')}: missing; a source with a data file must say how many records "
                             "it holds")
        if entry.status == OK and entry.count is None:
            raise InputError(f"{field('count')}: missing; an ok source must say how many records it holds")
        if entry.file is not None and entry.status not in DATA_STATUSES:
            # forbidden, unlicensed, notApplicable, unavailable: Graph returned no data to keep
            raise InputError(f"{field('file')}: a source with status {entry.status} has no data file "
                             f"(only {' and '.join(DATA_STATUSES)} sources keep what they read)")
        if entry.file is None and entry.count:
            raise InputError(f"{field('file')}: missing, but the source is {entry.status} with count {entry.count}: "
                             "its records are not in the snapshot")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of two equal keys silently; in a manifest (written by flowaudit) two
    # entries for one source, or two collectedAt, leave which one is meant to a guess.
    counts = Counter(key for key, _ in pairs)
    twice = sorted(key for key, n in counts.items() if n > 1)
    if twice:
        raise ValueError(f"key {twice[0]!r} appears more than once")
    return dict(pairs)


def _parse_manifest(raw: bytes, label: str) -> Manifest:
    try:
        data = json.loads(raw, object_pairs_hook=_unique_keys)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{label}: invalid JSON: {exc}") from None
    except ValueError as exc:  # from _unique_keys
        raise InputError(f"{label}: {exc}") from None
    except RecursionError:
        raise InputError(f"{label}: JSON nested too deeply (not a flowaudit manifest)") from None
    if not isinstance(data, dict):
        raise InputError(f"{label}: expected a JSON object")
    if data.get("format") != FORMAT:
        raise InputError(f"{label}: not a flowaudit snapshot manifest (format is {data.get('format')!r}, "
                         f"expected {FORMAT!r})")
    if data.get("version") != VERSION or isinstance(data.get("version"), bool):
        raise InputError(f"{label}: unsupported snapshot version {data.get('version')!r} "
                         f"(this flowaudit reads version {VERSION})")
    if _depth(data) > MAX_DEPTH:
        raise InputError(f"{label}: JSON nested deeper than {MAX_DEPTH} levels (not a flowaudit manifest)")
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{label}: {describe_validation(exc)}") from None
    _check_entries(manifest, label)
    return manifest


def _read_small(opener: _Opener, name: str, label: str) -> bytes:
    try:
        with opener.open(name, label) as handle:
            return handle.read()
    except _READ_ERRORS as exc:
        raise InputError(f"{label}: cannot read: {_describe(exc)}") from None


def open_snapshot(path: str | Path) -> Snapshot:
    """Open and validate a snapshot directory or zip; raise :class:`InputError` when it is not valid.

    The snapshot path itself may be a symbolic link (``latest -> 2026-11-01``); the files in it may not.
    """
    snap_path = Path(path)
    if not snap_path.exists():
        raise InputError(f"{snap_path}: snapshot not found")
    opener: _Opener
    if snap_path.is_dir():
        opener = _DirOpener(snap_path)
        manifest_label = f"{snap_path}/manifest.json"
        if not os.path.lexists(snap_path / "manifest.json"):
            raise InputError(f"{snap_path}: not a flowaudit snapshot (no manifest.json)")
        opener.check("manifest.json", manifest_label)
        manifest = _parse_manifest(_read_small(opener, "manifest.json", manifest_label), manifest_label)
    else:
        try:
            archive = zipfile.ZipFile(snap_path)
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
            raise InputError(f"{snap_path}: not a snapshot directory or zip file ({exc})") from None
        names = archive.namelist()
        candidates = [n for n in names if n == "manifest.json" or
                      (n.endswith("/manifest.json") and n.count("/") == 1)]
        if not candidates:
            raise InputError(f"{snap_path}: zip file is not a flowaudit snapshot (no manifest.json at its top)")
        manifest_name = sorted(candidates, key=len)[0]
        prefix = manifest_name[: -len("manifest.json")]
        opener = _ZipOpener(archive, prefix, str(snap_path))
        manifest_label = f"{snap_path}/{manifest_name}"
        manifest = _parse_manifest(_read_small(opener, "manifest.json", manifest_label), manifest_label)
    for key, entry in manifest.sources.items():
        if entry.file:
            try:
                opener.check(entry.file, f"{snap_path}/{entry.file}")
            except InputError as exc:
                raise InputError(f"{exc} (manifest.json names it as the data file of source {key})") from None
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
    except RecursionError:
        raise InputError(f"{path}: JSON nested too deeply") from None


__all__ = ["Manifest", "Snapshot", "SourceDamaged", "SourceEntry", "memory_snapshot", "open_snapshot",
           "read_json_file"]
