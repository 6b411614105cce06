"""The config file (``--config FILE``, ``FLOWAUDIT_CONFIG``, or ``./flowaudit.yaml`` when present).

Keys are the long option names exactly as written on the command line (``fail-on``,
``output-dir``, ``require-complete``, ``auth``, ...); the underscore spelling is rejected with a
hint. Besides options the file takes::

    rules: [CAP001, CAP002]           # like --rules (run only these); or the mapping below
    skip-rules: [APP002]              # like --skip-rules
    rules:
      enable: [CAP001, CAP002]        # like --rules
      disable: [APP002]               # like --skip-rules
      severity: {CON004: high}        # per-rule severity override
      parameters: {CON004: {days: 60}, GST001: {days: 180}}
    waivers: waivers.yaml             # a path, or the list itself (same entries as a waiver file)

This module reads and validates the file's structure and its rule settings; turning option values
into the command's types (and the precedence command line > environment > file > default) is the
click wiring's job (:mod:`auditor.cli_config`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.severity import SEVERITIES
from auditor.yamlfile import safe_load_yaml

CONFIG_FILE_NAME = "flowaudit.yaml"
CONFIG_ENVVAR = "FLOWAUDIT_CONFIG"
RULES_KEYS = ("enable", "disable", "severity", "parameters")
# keys a config file cannot set, with the reason
NOT_IN_CONFIG = {
    "config": "the config file cannot name another config file",
    "help": "not an option to configure",
}


@dataclass
class RuleSettings:
    enable: list[str] | None = None  # None: every rule
    disable: list[str] = field(default_factory=list)
    severities: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Config:
    path: Path | None = None
    found_by: str | None = None  # "--config", CONFIG_ENVVAR or "./flowaudit.yaml"
    options: dict[str, Any] = field(default_factory=dict)  # long option name -> value as written in the file
    rules: RuleSettings = field(default_factory=RuleSettings)
    inline_waivers: list[Any] | None = None


def locate(args: list[str], cwd: Path | None = None) -> tuple[Path | None, str | None]:
    """The config file to use: --config in the raw args, else $FLOWAUDIT_CONFIG, else ./flowaudit.yaml."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--config" and i + 1 < len(args):
            return Path(args[i + 1]), "--config"
        if arg.startswith("--config="):
            return Path(arg.split("=", 1)[1]), "--config"
    env = os.environ.get(CONFIG_ENVVAR)
    if env:
        return Path(env), CONFIG_ENVVAR
    default = (cwd or Path.cwd()) / CONFIG_FILE_NAME
    if default.is_file():
        return Path(CONFIG_FILE_NAME), f"./{CONFIG_FILE_NAME}"
    return None, None


def _id_list(value: Any, label: str) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{label}: must be a list of rule ids")
    return [v.strip().upper() for v in value if v.strip()]


def _parse_rules(settings: RuleSettings, value: Any, path: Path) -> None:
    from auditor.catalog import load_catalog  # only when the file has a rules section

    catalog = load_catalog()
    if isinstance(value, (list, str)):  # the --rules form
        settings.enable = _id_list(value, f"{path}: rules")
        catalog.check_ids(settings.enable, f"{path}: rules")
        return
    if not isinstance(value, dict):
        raise InputError(f"{path}: 'rules' must be a list of rule ids or a mapping with {', '.join(RULES_KEYS)}")
    unknown = sorted(str(k) for k in value if k not in RULES_KEYS)
    if unknown:
        raise InputError(f"{path}: unknown key 'rules.{unknown[0]}' (allowed: {', '.join(RULES_KEYS)})")
    if value.get("enable") is not None:
        settings.enable = _id_list(value["enable"], f"{path}: rules.enable")
        catalog.check_ids(settings.enable, f"{path}: rules.enable")
    if value.get("disable") is not None:
        settings.disable += _id_list(value["disable"], f"{path}: rules.disable")
        catalog.check_ids(settings.disable, f"{path}: rules.disable")
    severities = value.get("severity") or {}
    if not isinstance(severities, dict):
        raise InputError(f"{path}: rules.severity must map rule ids to a severity")
    for rule_id, severity in severities.items():
        rid = str(rule_id).upper()
        catalog.check_ids([rid], f"{path}: rules.severity")
        if severity not in SEVERITIES:
            raise InputError(f"{path}: rules.severity.{rid}: {severity!r} is not one of {', '.join(SEVERITIES)}")
        settings.severities[rid] = severity
    parameters = value.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise InputError(f"{path}: rules.parameters must map rule ids to their parameters")
    for rule_id, params in parameters.items():
        rid = str(rule_id).upper()
        catalog.check_ids([rid], f"{path}: rules.parameters")
        if not isinstance(params, dict):
            raise InputError(f"{path}: rules.parameters.{rid} must be a mapping of parameter: value")
        rule = catalog.get(rid)
        assert rule is not None
        rule.resolve_parameters(params, f"{path}: rules.parameters")  # validates; values stay as written
        settings.parameters[rid] = dict(params)


def read_config(path: Path, option_names: Iterable[str], found_by: str | None = None) -> Config:
    """Read and validate the file: its structure, rule settings and waivers; option *names* are checked
    against ``option_names`` (the long names of every configurable command), their values later."""
    data = safe_load_yaml(path, "config file")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: a config file must be a YAML mapping of option: value")
    known = set(option_names)
    config = Config(path=path, found_by=found_by)
    for raw_key, value in data.items():
        key = str(raw_key)
        if key in NOT_IN_CONFIG:
            raise InputError(f"{path}: key '{key}' is not allowed in a config file: {NOT_IN_CONFIG[key]}")
        if key == "rules":
            _parse_rules(config.rules, value, path)
        elif key == "skip-rules":
            config.rules.disable += _id_list(value, f"{path}: skip-rules")
            from auditor.catalog import load_catalog

            load_catalog().check_ids(config.rules.disable, f"{path}: skip-rules")
        elif key == "waivers" and (isinstance(value, list) or value is None):
            config.inline_waivers = value or []
        elif key in known:
            config.options[key] = value
        else:
            spelled = key.replace("_", "-")
            hint = f" (write it as on the command line: '{spelled}')" if spelled != key and \
                (spelled in known or spelled in ("rules", "skip-rules")) else ""
            raise InputError(f"{path}: unknown key '{key}'{hint}")
    both = sorted(set(config.rules.enable or []) & set(config.rules.disable))
    if both:
        raise InputError(f"{path}: rule(s) {', '.join(both)} are both enabled and disabled")
    return config
