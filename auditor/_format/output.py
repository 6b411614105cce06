"""Write a run's output files into ``--output-dir`` as one set.

Every file is rendered, then written in full (and fsynced) to a staging folder inside the output
directory; only when all of them are on disk are they renamed into place. A failure (no space, a
read-only or unusable directory) therefore leaves the previous run's files untouched, never a mix
of two runs. The output directory keeps a small manifest, ``.flowaudit-outputs.json``, of the files
flowaudit wrote there: an audit removes the files a previous audit wrote that this one did not (so a
PDF of another run never sits beside a new ``result.json``); files flowaudit did not write are never
touched.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from auditor._format.registry import FORMAT_NAMES, get_formatter
from auditor.errors import InputError, OutputError, UsageError

if TYPE_CHECKING:
    from auditor._format.interface import Formatter, PlanAttachment
    from auditor.progress import AuditProgress
    from auditor.result import AuditResult

RUN_MANIFEST = ".flowaudit-outputs.json"
PLACEHOLDERS = ("tenant", "date")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_NOT_IN_PATH = re.compile(r"[^A-Za-z0-9._-]+")


def check_output_template(template: Path, label: str = "--output-dir") -> None:
    """Unknown ``{placeholders}`` are a usage error before the audit starts, not a folder named ``{tenat}``."""
    unknown = sorted({m.group(1) for m in _PLACEHOLDER.finditer(str(template))} - set(PLACEHOLDERS))
    if unknown:
        raise UsageError(f"{label} {template}: unknown placeholder {{{unknown[0]}}} "
                         f"(available: {', '.join('{' + p + '}' for p in PLACEHOLDERS)})")


def path_safe(text: str) -> str:
    """Tenant text as one path component: the tenant id comes from the snapshot's manifest, which a
    hand-edited snapshot controls, so nothing but letters, digits, ``.``, ``_`` and ``-`` survives, and
    no leading dot (no ``..``, no hidden folder)."""
    cleaned = _NOT_IN_PATH.sub("_", text).lstrip(".")[:64]
    return cleaned or "unknown-tenant"


def resolve_output_dir(template: Path, tenant_id: str, collected_at: str) -> Path:
    """``out/{tenant}/{date}`` → ``out/4c6a…/2026-11-01``. The date is the snapshot's collectedAt (UTC),
    like every other date of an audit, so re-auditing a snapshot writes to the same folder."""
    check_output_template(template)
    values = {"tenant": path_safe(tenant_id), "date": path_safe(collected_at[:10])}
    text = str(template)
    if "{" not in text:
        return template
    return Path(_PLACEHOLDER.sub(lambda m: values[m.group(1)], text))


def os_reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    return exc.strerror or type(exc).__name__


# The files of a portfolio's folder (auditor/portfolio/output.py), managed as a set the same way.
PORTFOLIO_FILENAMES = frozenset({"portfolio.json", "portfolio.html", "portfolio.pdf", "portfolio.md"})


def _known_filenames() -> set[str]:
    return {get_formatter(name).filename for name in FORMAT_NAMES} | PORTFOLIO_FILENAMES


def _previous_files(directory: Path) -> set[str]:
    """Files the manifest says flowaudit wrote here; anything unexpected in it is ignored."""
    try:
        data = json.loads((directory / RUN_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    files = data.get("files") if isinstance(data, dict) else None
    known = _known_filenames()
    return {f for f in files if isinstance(f, str) and f in known} if isinstance(files, list) else set()


def publish(directory: Path, files: list[tuple[str, bytes]], *, replace_set: bool) -> list[Path]:
    """Put ``files`` (name, content) into ``directory`` as one set; see the module docstring.

    ``replace_set``: this is a whole run's output (``audit``), so files of the previous run that are
    not in it are removed; otherwise (``report``) the files are added to the set.
    """
    where = f"--output-dir {directory}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, _ in files:
            target = directory / name
            if target.is_dir() and not target.is_symlink():
                raise OutputError(f"{where}: {name} is a directory; remove it or choose another output directory")
        staging = Path(tempfile.mkdtemp(prefix=".flowaudit-", dir=directory))
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(f"{where}: cannot write output there: {os_reason(exc)}") from None
    try:
        for name, data in files:
            with open(staging / name, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        previous = _previous_files(directory)
        names = [name for name, _ in files]
        recorded = sorted(set(names) if replace_set else previous | set(names))
        with open(staging / RUN_MANIFEST, "w", encoding="utf-8") as handle:
            json.dump({"files": recorded}, handle)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        for name in names:  # every file is complete on disk before the first rename
            os.replace(staging / name, directory / name)
        if replace_set:
            for stale in sorted(previous - set(names)):
                path = directory / stale
                if path.is_file() or path.is_symlink():
                    path.unlink()
        os.replace(staging / RUN_MANIFEST, directory / RUN_MANIFEST)
    except OSError as exc:
        raise OutputError(f"{where}: cannot write output there: {os_reason(exc)}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [directory / name for name, _ in files]


def write_outputs(result: AuditResult, names: Iterable[str], output_dir: Path, *,
                  replace_set: bool = True, progress: AuditProgress | None = None,
                  plan: PlanAttachment | None = None, hooks: bool = True) -> list[Path]:
    """Render each format, write them as one set, then run each format's post-write hook (unless
    ``hooks`` is false: a portfolio run writes one job summary for all its tenants, not one each).

    A format that cannot render here (PDF without Pango) does not stop the others: they are
    written, then its error is raised (exit 2, one line)."""
    rendered: list[tuple[Formatter, bytes]] = []
    failures: list[InputError] = []
    names = list(names)
    if progress is not None:
        progress.rendering(names)
    for name in names:
        formatter = get_formatter(name, plan)
        if progress is not None:
            progress.render_started(name)
        try:
            rendered.append((formatter, formatter.format(result)))
        except InputError as exc:
            failures.append(exc)
        if progress is not None:
            progress.rendered(name)
    written = publish(output_dir, [(f.filename, data) for f, data in rendered], replace_set=replace_set) \
        if rendered else []
    for formatter, data in rendered if hooks else []:
        formatter.published(data)
    if failures:
        others = f" (the other formats were written to {output_dir})" if rendered else ""
        raise type(failures[0])(f"{failures[0]}{others}")
    return written
