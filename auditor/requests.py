"""What a command is asked to do, typed: the CLI builds these from options, the commands run them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.connection import ConnectionOptions


@dataclass(frozen=True)
class RuleSelection:
    only: frozenset[str] | None = None  # --rules / rules.enable
    skip: frozenset[str] = frozenset()  # --skip-rules / rules.disable
    severities: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Gate:
    fail_on: str = "high"
    require_complete: bool = False
    fail_on_new: bool = False


@dataclass(frozen=True)
class AuditRequest:
    formats: list[str]
    output_dir: Path
    gate: Gate = field(default_factory=Gate)
    rules: RuleSelection = field(default_factory=RuleSelection)
    snapshot: Path | None = None  # offline
    sample: str | None = None  # a bundled sample
    save_snapshot: Path | None = None  # live: keep the collected snapshot
    connection: ConnectionOptions = field(default_factory=ConnectionOptions)
    waivers: Path | None = None
    inline_waivers: list[Any] | None = None  # from the config file
    config_path: Path | None = None  # where inline waivers came from, for messages
    baseline: Path | None = None
    reproducible: bool = False
    quiet: bool = False

    @property
    def live(self) -> bool:
        return self.snapshot is None and self.sample is None


@dataclass(frozen=True)
class CollectRequest:
    output: Path
    connection: ConnectionOptions = field(default_factory=ConnectionOptions)
    previous: Path | None = None
    quiet: bool = False


@dataclass(frozen=True)
class PlanRequest:
    result: Path
    snapshot: Path | None = None
    sample: str | None = None  # a bundled sample as the snapshot
    output: Path | None = None
    rules: frozenset[str] | None = None
    permissions: bool = False  # print the permissions the plan's changes need
    quiet: bool = False


@dataclass(frozen=True)
class ApplyRequest:
    plan: Path
    yes: bool = False  # without it: a dry run that sends nothing
    connection: ConnectionOptions = field(default_factory=ConnectionOptions)
    cloud_given: bool = False  # --cloud was given (else the plan's cloud is used)
    output_dir: Path | None = None  # apply-log.jsonl and rollback.json (default: beside the plan)
    quiet: bool = False
