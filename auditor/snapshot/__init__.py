"""Snapshot format v1 (docs/snapshot-format.md): a directory or zip with manifest.json and one JSONL
file per source."""

from auditor.snapshot.format import FORMAT, VERSION
from auditor.snapshot.reader import Snapshot, SourceEntry, memory_snapshot, open_snapshot, read_json_file
from auditor.snapshot.writer import SnapshotWriter

__all__ = ["FORMAT", "VERSION", "Snapshot", "SnapshotWriter", "SourceEntry", "memory_snapshot", "open_snapshot",
           "read_json_file"]
