"""The config file (``--config FILE``, ``FLOWAUDIT_CONFIG``, or ``./flowaudit.yaml`` when present).

Keys are the long option names exactly as written on the command line (``fail-on``,
``output-dir``, ``require-complete``, ``auth``, ...); the underscore spelling is rejected with a
hint. Besides options the file takes::

    rules:
      enable: [CAP001, CAP002]        # like --rules (run only these)
      disable: [APP002]               # like --skip-rules
      severity: {CON004: high}        # per-rule severity override
      parameters: {CON004: {days: 60}, GST001: {days: 180}}
    waivers: waivers.yaml             # a path, or the list itself (same entries as a waiver file)

Relative paths are relative to the config file's directory. Option values from the file become
click's ``default_map``, which gives the precedence command line > FLOWAUDIT_* environment >
config file > built-in default. :class:`ConfigCommand` loads the file before option values are
resolved; ``flowaudit config show`` reports where each effective value came from.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from auditor.errors import InputError
from auditor.severity import SEVERITIES
from auditor.yamlfile import safe_load_yaml

CONFIG_FILE_NAME = "flowaudit.yaml"
CONFIG_ENVVAR = "FLOWAUDIT_CONFIG"
META_KEY = "flowaudit.config"
RULES_KEYS = ("enable", "disable", "severity", "parameters")
# options a config file cannot set, with the reason
NOT_IN_CONFIG = {
    "config": "the config file cannot name another config file",
    "help": "not an option to configure",
    "skip-rules": "write it as rules: {disable: [...]}",
}


@dataclass
class Config:
    path: Path | None = None
    found_by: str | None = None  # "--config", CONFIG_ENVVAR or "./flowaudit.yaml"
    options: dict[str, Any] = field(default_factory=dict)  # long option name -> value (validated)
    enable: list[str] | None = None
    disable: list[str] = field(default_factory=list)
    severities: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    inline_waivers: list[Any] | None = None

    def default_map(self, command: click.Command) -> dict[str, Any]:
        """This command's option defaults from the file (options of other commands are ignored)."""
        by_long = _long_names(command)
        values: dict[str, Any] = {}
        for key, value in self.options.items():
            if key in by_long:
                values[by_long[key].name] = value  # type: ignore[index]
        if self.enable is not None and "rules" in by_long:
            values["only_rules"] = ",".join(self.enable)
        if self.disable and "skip-rules" in by_long:
            values["skip_rules"] = ",".join(self.disable)
        return values


def _long_names(command: click.Command) -> dict[str, click.Parameter]:
    names: dict[str, click.Parameter] = {}
    for param in command.params:
        if isinstance(param, click.Option):
            for opt in param.opts + param.secondary_opts:
                if opt.startswith("--"):
                    names[opt[2:]] = param
    return names


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


def _check_rule_ids(ids: Iterable[str], known: set[str], label: str) -> None:
    unknown = sorted(set(ids) - known)
    if unknown:
        raise InputError(f"{label}: unknown rule id(s) {', '.join(unknown)} (see 'flowaudit rules list')")


def _parse_rules(config: Config, value: Any, path: Path) -> None:
    from auditor.catalog import load_catalog  # only when the file has a rules section

    if not isinstance(value, dict):
        raise InputError(f"{path}: 'rules' must be a mapping with {', '.join(RULES_KEYS)}")
    unknown = sorted(str(k) for k in value if k not in RULES_KEYS)
    if unknown:
        raise InputError(f"{path}: unknown key 'rules.{unknown[0]}' (allowed: {', '.join(RULES_KEYS)})")
    catalog = {r.id: r for r in load_catalog()}
    known = set(catalog)
    if value.get("enable") is not None:
        config.enable = _id_list(value["enable"], f"{path}: rules.enable")
        _check_rule_ids(config.enable, known, f"{path}: rules.enable")
    if value.get("disable") is not None:
        config.disable = _id_list(value["disable"], f"{path}: rules.disable")
        _check_rule_ids(config.disable, known, f"{path}: rules.disable")
    severities = value.get("severity") or {}
    if not isinstance(severities, dict):
        raise InputError(f"{path}: rules.severity must map rule ids to a severity")
    for rule_id, severity in severities.items():
        rid = str(rule_id).upper()
        _check_rule_ids([rid], known, f"{path}: rules.severity")
        if severity not in SEVERITIES:
            raise InputError(f"{path}: rules.severity.{rid}: {severity!r} is not one of {', '.join(SEVERITIES)}")
        config.severities[rid] = severity
    parameters = value.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise InputError(f"{path}: rules.parameters must map rule ids to their parameters")
    for rule_id, params in parameters.items():
        rid = str(rule_id).upper()
        _check_rule_ids([rid], known, f"{path}: rules.parameters")
        if not isinstance(params, dict):
            raise InputError(f"{path}: rules.parameters.{rid} must be a mapping of parameter: value")
        for name, param_value in params.items():
            definition = catalog[rid].parameters.get(name)
            if definition is None:
                allowed = ", ".join(catalog[rid].parameters) or "none"
                raise InputError(f"{path}: rules.parameters.{rid}: unknown parameter '{name}' (allowed: {allowed})")
            default = definition.default
            if isinstance(default, (int, float)) and not isinstance(default, bool) and (
                    isinstance(param_value, bool) or not isinstance(param_value, (int, float))):
                raise InputError(f"{path}: rules.parameters.{rid}.{name}: expected a number, got {param_value!r}")
        config.parameters[rid] = dict(params)


def _parse_option(key: str, value: Any, param: click.Parameter, path: Path) -> Any:
    if isinstance(param, click.Option) and param.is_flag:
        if not isinstance(value, bool):
            raise InputError(f"{path}: '{key}': expected true or false, got {value!r}")
        return value
    if isinstance(value, list) and all(isinstance(v, (str, int)) for v in value):
        value = ",".join(str(v) for v in value)  # e.g. format: [json, sarif]
    if isinstance(value, (dict, list)) or value is None:
        raise InputError(f"{path}: '{key}': expected a single value")
    try:
        converted = param.type.convert(value, param, None)
    except click.BadParameter as exc:
        raise InputError(f"{path}: '{key}': {exc.message}") from None
    if isinstance(param.type, click.Path) and not Path(converted).is_absolute():
        converted = path.parent / converted  # relative to the config file, not to the cwd
    return converted


def load_config(path: Path, commands: Iterable[click.Command], found_by: str | None = None) -> Config:
    """Read and validate the whole file against every configurable command's options and the catalog."""
    data = safe_load_yaml(path, "config file")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: a config file must be a YAML mapping of option: value")
    known: dict[str, click.Parameter] = {}
    for command in commands:
        known.update(_long_names(command))
    config = Config(path=path, found_by=found_by)
    for raw_key, value in data.items():
        key = str(raw_key)
        if key in NOT_IN_CONFIG:
            raise InputError(f"{path}: key '{key}' is not allowed in a config file: {NOT_IN_CONFIG[key]}")
        if key == "rules":
            _parse_rules(config, value, path)
        elif key == "waivers":
            if isinstance(value, list) or value is None:
                config.inline_waivers = value or []
            else:
                config.options["waivers"] = _parse_option(key, value, known["waivers"], path)
        elif key in known:
            config.options[key] = _parse_option(key, value, known[key], path)
        else:
            hint = ""
            if key.replace("_", "-") in known or key.replace("_", "-") == "rules":
                hint = f" (write it as on the command line: '{key.replace('_', '-')}')"
            raise InputError(f"{path}: unknown key '{key}'{hint}")
    if config.enable is not None and "rules" not in known:
        config.enable = None
    return config


def configurable_commands(ctx: click.Context) -> list[click.Command]:
    root = ctx.find_root().command
    commands = getattr(root, "commands", {}).values()
    return [c for c in commands if isinstance(c, ConfigCommand)] or [ctx.command]


def _asks_for_help(args: list[str], ctx: click.Context) -> bool:
    return any(a in ctx.help_option_names for a in args if not a.startswith("---"))


class ConfigCommand(click.Command):
    """A command whose option defaults come from the config file (loaded before options resolve)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not any(p.name == "config_path" for p in self.params):  # every configurable command takes --config
            self.params.append(click.Option(["--config", "config_path"], type=click.Path(path_type=Path),
                                            envvar=CONFIG_ENVVAR,
                                            help=f"Config file (default: ./{CONFIG_FILE_NAME} when present)."))

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        config = Config()
        if not ctx.resilient_parsing and not _asks_for_help(args, ctx):
            path, found_by = locate(args)
            if path is not None:
                config = load_config(path, configurable_commands(ctx), found_by)
                ctx.default_map = {**(ctx.default_map or {}), **config.default_map(self)}
        ctx.meta[META_KEY] = config
        return super().parse_args(ctx, args)


def active_config() -> Config:
    """The config the running command loaded (an empty one outside a ConfigCommand)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return Config()
    return ctx.meta.get(META_KEY) or Config()
