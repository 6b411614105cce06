"""Timestamps as flowaudit writes them: UTC, whole seconds, ``Z`` (``2026-11-01T06:00:00Z``)."""

from __future__ import annotations

from datetime import datetime, timezone


def utc(moment: datetime) -> datetime:
    """An aware UTC datetime (naive values are taken as UTC, as Graph means them)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def iso_utc(moment: datetime) -> str:
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_from_unix(seconds: int | float) -> str:
    return iso_utc(datetime.fromtimestamp(seconds, tz=timezone.utc))
