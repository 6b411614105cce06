"""Snapshot format v1 (SPEC §5): a directory or zip with manifest.json and one JSONL file per source."""

from auditor.snapshot.reader import Snapshot, SourceEntry, open_snapshot, read_json_file
from auditor.snapshot.writer import SnapshotWriter

FORMAT = "flowaudit-snapshot"
VERSION = 1

__all__ = ["FORMAT", "VERSION", "Snapshot", "SnapshotWriter", "SourceEntry", "open_snapshot", "read_json_file"]
