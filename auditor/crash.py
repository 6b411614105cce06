"""An unexpected internal error: one line for the user, the traceback in a file they can attach."""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from auditor import __version__


def write_traceback(exc: BaseException) -> Path | None:
    """Write the traceback to a private file in the temp directory; None when even that fails."""
    text = (f"flowaudit {__version__} internal error at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n"
            f"command: {' '.join(sys.argv)}\n\n" + "".join(traceback.format_exception(exc)))
    try:
        fd, name = tempfile.mkstemp(prefix="flowaudit-internal-error-", suffix=".txt")  # mode 0600
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as handle:
            handle.write(text)
        return Path(name)
    except OSError:
        return None


def one_line(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}"[:300] if first else type(exc).__name__
