"""Progress of an offline audit on stderr: reading sources (with record counts), rules, rendering.

A snapshot is read lazily, by the rules that need it, so reading and evaluating interleave: 600,000
sign-ins are read while the first sign-in rule runs. On a terminal a transient rich display shows
both bars and the record count as it grows (rich is imported only then); otherwise one log line per
phase, so a CI log says what the tool is doing during a long run. ``-q`` silences both.
Nothing here writes to stdout.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from auditor.snapshot.reader import Snapshot

PREFIX = "flowaudit audit: "  # not "flowaudit:", which starts the one line that says why a run failed
_TICK = 5000  # records between two updates of the running count


class AuditProgress:
    """Silent (``-q``); the base of the two visible reporters."""

    def snapshot_opened(self, label: str, sources: int, records: int) -> None:
        pass

    def source_started(self, key: str, total: int | None) -> None:
        pass

    def records(self, key: str, count: int) -> None:
        pass

    def source_read(self, key: str, count: int) -> None:
        pass

    def rules_started(self, total: int) -> None:
        pass

    def rule_started(self, rule_id: str, index: int, total: int) -> None:
        pass

    def rules_done(self, total: int, seconds: float) -> None:
        pass

    def rendering(self, names: list[str]) -> None:
        pass

    def render_started(self, name: str) -> None:
        pass

    def rendered(self, name: str) -> None:
        pass

    def close(self) -> None:
        pass


class LineProgress(AuditProgress):
    """One line per phase (stderr is not a terminal: a CI log, a file)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def _line(self, text: str) -> None:
        print(PREFIX + text, file=self.stream, flush=True)

    def snapshot_opened(self, label: str, sources: int, records: int) -> None:
        self._line(f"reading snapshot {label} ({sources} sources, {records:,} records)")

    def rules_started(self, total: int) -> None:
        self._line(f"evaluating {total} rules (sources are read as the rules need them)")

    def rules_done(self, total: int, seconds: float) -> None:
        self._line(f"evaluated {total} rules in {seconds:.1f} s")

    def rendering(self, names: list[str]) -> None:
        self._line(f"rendering {', '.join(names)}")


class RichProgress(AuditProgress):
    """Bars for reading, rules and rendering on a terminal; transient, so the summary follows alone."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._bars = Progress(SpinnerColumn(), TextColumn("{task.description:<16}"), BarColumn(),
                              TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                              console=Console(file=stream), transient=True)
        self._tasks: dict[str, Any] = {}
        self._read: dict[str, int] = {}
        self._started = False

    def _task(self, name: str, description: str, total: float | None) -> Any:
        if not self._started:
            # Started on first use, not when built: a live audit first collects, and the collector
            # draws its own bars (rich allows one live display at a time).
            self._bars.start()
            self._started = True
        if name not in self._tasks:
            self._tasks[name] = self._bars.add_task(description, total=total, detail="")
        return self._tasks[name]

    def snapshot_opened(self, label: str, sources: int, records: int) -> None:
        self._task("read", "Reading sources", records or None)

    def source_started(self, key: str, total: int | None) -> None:
        self._read[key] = 0
        self._bars.update(self._task("read", "Reading sources", None), detail=f"{key} …")

    def records(self, key: str, count: int) -> None:
        delta = count - self._read.get(key, 0)
        self._read[key] = count
        self._bars.update(self._task("read", "Reading sources", None), advance=delta,
                          detail=f"{key}: {count:,} records")

    def source_read(self, key: str, count: int) -> None:
        self.records(key, count)

    def rules_started(self, total: int) -> None:
        self._task("rules", "Evaluating rules", total)

    def rule_started(self, rule_id: str, index: int, total: int) -> None:
        self._bars.update(self._task("rules", "Evaluating rules", total), completed=index,
                          detail=f"{index + 1}/{total} {rule_id}")

    def rules_done(self, total: int, seconds: float) -> None:
        self._bars.update(self._task("rules", "Evaluating rules", total), completed=total, detail=f"{total} rules")
        # sources no selected rule needs stay unread: the bar ends full, saying what was read
        self._bars.update(self._task("read", "Reading sources", None), completed=1, total=1,
                          detail=f"{sum(self._read.values()):,} records from {len(self._read)} sources")

    def rendering(self, names: list[str]) -> None:
        self._task("render", "Rendering", len(names))

    def render_started(self, name: str) -> None:
        self._bars.update(self._tasks["render"], detail=name)

    def rendered(self, name: str) -> None:
        self._bars.update(self._tasks["render"], advance=1)

    def close(self) -> None:
        if self._started:
            self._bars.stop()


def make_audit_progress(quiet: bool, stream: TextIO | None = None) -> AuditProgress:
    stream = stream or sys.stderr
    if quiet:
        return AuditProgress()
    if stream.isatty():
        try:
            return RichProgress(stream)
        except ImportError:  # rich missing: log lines instead
            pass
    return LineProgress(stream)


class ObservedSnapshot:
    """A snapshot that reports the records its sources yield, for the first full read of each.

    A proxy rather than a subclass: everything but :meth:`iter_records` is the snapshot's own, so
    the snapshot package stays free to change its constructor.
    """

    def __init__(self, inner: Snapshot, progress: AuditProgress) -> None:
        self._inner = inner
        self._progress = progress
        self._done: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def iter_records(self, key: str) -> Iterator[dict[str, Any]]:
        if key in self._done:
            yield from self._inner.iter_records(key)
            return
        entry = self._inner.source(key)
        self._progress.source_started(key, entry.count if entry else None)
        count = 0
        for record in self._inner.iter_records(key):
            count += 1
            if count % _TICK == 0:
                self._progress.records(key, count)
            yield record
        self._done.add(key)
        self._progress.source_read(key, count)


def observe(snapshot: Snapshot, progress: AuditProgress) -> Snapshot:
    """The snapshot to hand to the tenant model (unchanged when nobody watches)."""
    if type(progress) is AuditProgress:
        return snapshot
    return ObservedSnapshot(snapshot, progress)  # type: ignore[return-value]


def snapshot_counts(snapshot: Snapshot) -> tuple[int, int]:
    """(sources with data, records the manifest announces)."""
    entries = [e for e in snapshot.manifest.sources.values() if e.file]
    return len(entries), sum(e.count or 0 for e in entries)


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started
