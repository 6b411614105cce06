"""Write a snapshot atomically: build it in a temp directory beside the target, then rename.

Used by the collector, the synthetic tenant generator and the tests' snapshot helpers, so there is
one writer of the format. A run that fails midway leaves no half-written snapshot behind, and
nothing that is not a flowaudit snapshot is ever replaced:

* the target must be free (or an empty directory), or an earlier snapshot of the same kind (a
  snapshot directory holding only its own files, or a snapshot zip); anything else is refused
  before a byte is written;
* an earlier snapshot directory is swapped with the new one in one step (``renameat2`` with
  ``RENAME_EXCHANGE`` on Linux), so the path always holds the old or the new snapshot, never
  nothing; a zip is replaced with one ``rename``;
* a path that cannot be written (a file where a directory is needed, read-only, no space, no
  permission) is an :class:`InputError` with one line naming the path and the reason.
"""

from __future__ import annotations

import errno
import gzip
import json
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor.errors import InputError
from auditor.snapshot.format import FORMAT, MANIFEST, VERSION
from auditor.sources import BY_KEY, OK, SOURCE_KEYS
from auditor.timefmt import iso_utc

# Names a snapshot directory may hold besides its manifest (what any version of the writer writes).
_DATA_NAMES = frozenset(f"{key}{ext}" for key in SOURCE_KEYS for ext in (".jsonl", ".jsonl.gz"))

_REASONS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOTDIR: "a file is in the way where a directory is needed",
    errno.EEXIST: "a file is in the way where a directory is needed",
    errno.EISDIR: "a directory is in the way where a file is needed",
    errno.ENAMETOOLONG: "the name is too long",
    errno.ENOENT: "a directory on the way does not exist and cannot be created",
    errno.ELOOP: "too many symbolic links on the way",
}


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


def describe_os_error(exc: OSError) -> str:
    reason = _REASONS.get(exc.errno or 0) or exc.strerror or type(exc).__name__
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{reason}{where}"


@contextmanager
def output_errors(dest: Path, what: str = "snapshot") -> Iterator[None]:
    """Turn an operating-system failure while writing ``dest`` into one line (exit 2)."""
    try:
        yield
    except OSError as exc:
        raise InputError(f"cannot write {what} {dest}: {describe_os_error(exc)}") from None


def _is_snapshot_manifest(raw: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def check_destination(dest: str | os.PathLike[str]) -> None:
    """Refuse (InputError) a target that exists and is not an earlier snapshot this writer may replace."""
    path = Path(dest)
    refuse = f"{path}: exists and is not a flowaudit snapshot"
    advice = "; refusing to replace it (choose another path, or move it away)"
    if path.is_symlink():
        raise InputError(f"{path}: is a symbolic link; give the path of the snapshot itself")
    if not path.exists():
        ancestor = path.parent
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if ancestor.exists() and not ancestor.is_dir():
            raise InputError(f"cannot write snapshot {path}: {ancestor} is a file, not a directory")
        return
    if path.is_dir():
        if path.suffix == ".zip":
            raise InputError(f"{path}: is a directory; a .zip snapshot would replace it{advice}")
        manifest_path = path / MANIFEST
        try:
            manifest = _is_snapshot_manifest(manifest_path.read_bytes()) if manifest_path.is_file() else None
            names = sorted(p.name for p in path.iterdir())
        except OSError as exc:
            raise InputError(f"{path}: cannot be read to check it is a snapshot ({describe_os_error(exc)})") from None
        if not names:
            return  # an empty directory: nothing in it can be lost
        if manifest is None:
            raise InputError(f"{refuse} (no flowaudit manifest.json){advice}")
        own = {MANIFEST} | _DATA_NAMES
        sources = manifest.get("sources")
        if isinstance(sources, dict):
            own |= {e["file"] for e in sources.values() if isinstance(e, dict) and isinstance(e.get("file"), str)}
        foreign = [n for n in names if n not in own or not (path / n).is_file() or (path / n).is_symlink()]
        if foreign:
            shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
            raise InputError(f"{path}: is a snapshot but also holds other files ({shown}); refusing to replace "
                             "it (replacing it would delete them)")
        return
    if path.is_file():
        if path.suffix != ".zip":
            raise InputError(f"{refuse} (a regular file){advice}")
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
                top = [n for n in names if n == MANIFEST or (n.endswith("/" + MANIFEST) and n.count("/") == 1)]
                manifest = _is_snapshot_manifest(archive.read(sorted(top, key=len)[0])) if top else None
        except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, NotImplementedError):
            manifest = None
        if manifest is None:
            raise InputError(f"{refuse} (not a snapshot zip){advice}")
        return
    raise InputError(f"{refuse} (not a regular file or directory){advice}")


def _exchange(new: Path, old: Path) -> bool:
    """Swap two directories in one step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(at_fdcwd, os.fsencode(new), at_fdcwd, os.fsencode(old), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False  # the kernel or file system cannot exchange: fall back to two renames
    raise OSError(code, os.strerror(code), str(old))


def _replace_directory(new: Path, dest: Path) -> None:
    if not dest.exists():
        os.replace(new, dest)
        return
    if _exchange(new, dest):
        shutil.rmtree(new)  # now holds the old snapshot, which check_destination proved holds only its own files
        return
    # Two renames: the old snapshot is kept under a hidden name until the new one is in place.
    backup = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old.", dir=dest.parent))
    os.rmdir(backup)
    os.replace(dest, backup)
    try:
        os.replace(new, dest)
    except BaseException:
        os.replace(backup, dest)
        raise
    shutil.rmtree(backup)


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
        check_destination(self.dest)
        with output_errors(self.dest):
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
        with output_errors(self.dest), open(path, "wb") as raw:
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
        check_destination(self.dest)  # again: the path may have changed while Graph was read
        with output_errors(self.dest):
            (self._tmp / MANIFEST).write_text(json.dumps(self.manifest, indent=2) + "\n", encoding="utf-8")
            if self.dest.suffix == ".zip":
                fd, tmp_zip = tempfile.mkstemp(prefix=f".{self.dest.name}.", dir=self.dest.parent)
                os.close(fd)
                try:
                    with zipfile.ZipFile(tmp_zip, "w", zipfile.ZIP_DEFLATED) as archive:
                        for member in sorted(self._tmp.iterdir()):
                            info = zipfile.ZipInfo(member.name, date_time=(1980, 1, 1, 0, 0, 0))
                            info.compress_type = zipfile.ZIP_DEFLATED
                            archive.writestr(info, member.read_bytes())
                    os.replace(tmp_zip, self.dest)
                except BaseException:
                    Path(tmp_zip).unlink(missing_ok=True)
                    raise
                shutil.rmtree(self._tmp)
            else:
                _replace_directory(self._tmp, self.dest)
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
