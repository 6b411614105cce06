"""Progress on stderr: a bar per source on a terminal, otherwise one log line per finished source;
and the closing table of sources with status and counts. Nothing goes to stdout."""

from __future__ import annotations

import sys
from typing import Any, TextIO


class Progress:
    """Plain reporter: one line per source when it finishes (used when stderr is not a terminal)."""

    def __init__(self, stream: TextIO, *, lines: bool = True) -> None:
        self.stream = stream
        self.lines = lines

    def start(self, key: str) -> None:
        pass

    def advance(self, key: str, count: int) -> None:
        pass

    def finish(self, key: str, status: str, count: int, partial: bool = False) -> None:
        if self.lines:
            extra = " (partial)" if partial else ""
            print(f"flowaudit: {key}: {status}, {count} record{'s' if count != 1 else ''}{extra}",
                  file=self.stream, flush=True)

    def close(self) -> None:
        pass


class RichProgress(Progress):
    """One progress bar per source with a running count (rich, only imported on a terminal)."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream, lines=False)
        from rich.console import Console
        from rich.progress import BarColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichBars

        self._bars = RichBars(SpinnerColumn(), TextColumn("{task.description:<32}"), BarColumn(),
                              TextColumn("{task.fields[records]:>8} records"), TextColumn("{task.fields[status]}"),
                              TimeElapsedColumn(), console=Console(file=stream), transient=False)
        self._tasks: dict[str, Any] = {}
        self._counts: dict[str, int] = {}
        self._bars.start()

    def start(self, key: str) -> None:
        self._tasks[key] = self._bars.add_task(key, total=None, status="", records=0)

    def advance(self, key: str, count: int) -> None:
        if key in self._tasks:
            self._counts[key] = self._counts.get(key, 0) + count
            self._bars.update(self._tasks[key], records=self._counts[key])

    def finish(self, key: str, status: str, count: int, partial: bool = False) -> None:
        if key not in self._tasks:
            self.start(key)
        self._bars.update(self._tasks[key], completed=1, total=1, records=count,
                          status=status + (" (partial)" if partial else ""))

    def close(self) -> None:
        self._bars.stop()


def make_progress(quiet: bool, stream: TextIO | None = None) -> Progress:
    stream = stream or sys.stderr
    if quiet:
        return Progress(stream, lines=False)
    if stream.isatty():
        try:
            return RichProgress(stream)
        except ImportError:  # rich missing: fall back to log lines
            pass
    return Progress(stream)


def render_table(rows: list[tuple[str, str, int | None, bool, str]]) -> str:
    """rows: (source, status, count, partial, note) → a fixed-width text table."""
    header = ("source", "status", "records", "note")
    body = [(key, status + (" (partial)" if partial else ""), "" if count is None else str(count), note)
            for key, status, count, partial, note in rows]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(3)]
    lines = []
    for row in [header, *body]:
        lines.append(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}".rstrip())
    return "\n".join(lines) + "\n"
