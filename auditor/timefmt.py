"""Timestamps as flowaudit writes them: UTC, whole seconds, ``Z`` (``2026-11-01T06:00:00Z``)."""

from __future__ import annotations

from datetime import datetime, timezone


def utc(moment: datetime) -> datetime:
    """An aware UTC datetime (naive values are taken as UTC, as Graph means them)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def iso_utc(moment: datetime) -> str:
    # not strftime: glibc writes year 1 (Graph's "never" sentinel) as "1", not "0001"
    m = utc(moment)
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}Z"


def iso_from_unix(seconds: int | float) -> str:
    return iso_utc(datetime.fromtimestamp(seconds, tz=timezone.utc))
