"""The snapshot format's identity (docs/snapshot-format.md)."""

FORMAT = "flowaudit-snapshot"
VERSION = 1
MANIFEST = "manifest.json"
