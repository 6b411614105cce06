"""Run the installed console script as a user would: with pipes (a CI job) or on a pseudo-terminal.

Every FLOWAUDIT_* variable of the caller's shell is dropped so a developer's environment cannot
change what a test sees; a test passes the ones it means.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
from dataclasses import dataclass
from pathlib import Path

FLOWAUDIT = str(Path(sys.executable).with_name("flowaudit"))
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWAUDIT_")}
    env.update({"TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"})
    env.pop("NO_COLOR", None)
    env.update(extra or {})
    return env


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Pipes for stdin, stdout and stderr: what a pipeline sees."""
    return subprocess.run([FLOWAUDIT, *args], capture_output=True, text=True, cwd=cwd, env=environment(env),
                          stdin=subprocess.DEVNULL, timeout=180)


@dataclass
class TerminalRun:
    returncode: int
    terminal: str  # what appeared on the terminal, control sequences removed
    raw: str  # as written, control sequences included
    piped: str  # the stream that was not on the terminal (when only one was)


def on_terminal(*args: str, cwd: Path, env: dict[str, str] | None = None, stdout: bool = True,
                stderr: bool = True) -> TerminalRun:
    """Run with stdout and/or stderr on a pseudo-terminal (120 columns); the other stream is a pipe."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen([FLOWAUDIT, *args], cwd=cwd, env=environment(env), stdin=subprocess.DEVNULL,
                            stdout=slave if stdout else subprocess.PIPE, stderr=slave if stderr else subprocess.PIPE)
    os.close(slave)
    pipe = proc.stdout or proc.stderr
    piped: list[bytes] = []
    reader = threading.Thread(target=lambda: piped.append(pipe.read()) if pipe else None)
    reader.start()  # the piped stream is read alongside, so neither stream can fill up and block the child
    chunks: list[bytes] = []
    while True:  # drain the terminal while the child runs, or it blocks on a full buffer
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: every writer closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    reader.join(timeout=180)
    proc.wait(timeout=180)
    os.close(master)
    raw = b"".join(chunks).decode("utf-8", "replace")
    return TerminalRun(proc.returncode, _ANSI.sub("", raw), raw, b"".join(piped).decode("utf-8", "replace"))


def section(text: str, heading: str) -> list[str]:
    """The lines of a console summary section, from its heading to the next blank line."""
    lines = text.splitlines()
    start = lines.index(heading) + 1
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]
