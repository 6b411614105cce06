"""One way to say what is wrong with a validated input (snapshot, result, rule, config files)."""

from __future__ import annotations

from pydantic import ValidationError


def describe_validation(exc: ValidationError) -> str:
    """``field 'sources.signIns.count': Input should be a valid integer (and 2 more)``."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    # Our own validators' messages read as sentences; pydantic prefixes them with "Value error, ".
    message = first["msg"].removeprefix("Value error, ")
    return f"field '{where}': {message}{more}"
