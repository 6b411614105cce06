"""``flowaudit config show``: the effective configuration of a command and where each value came from."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from auditor.cli_config import ConfigCommand, config_of
from auditor.config import Config
from auditor.errors import InputError


def _display(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    return value


def _source(ctx: click.Context, param: click.Parameter, config: Config) -> str:
    source = ctx.get_parameter_source(str(param.name))
    if source is ParameterSource.COMMANDLINE:
        return "command line"
    if source is ParameterSource.ENVIRONMENT:
        return f"environment {param.envvar}" if isinstance(param.envvar, str) else "environment"
    if source is ParameterSource.DEFAULT_MAP:
        return f"config file {config.path}"
    return "default"


def _lenient(command: ConfigCommand) -> ConfigCommand:
    """A copy of the command whose required options may be missing: ``config show --for collect``
    reports the settings without a ``-o``; it runs nothing."""
    clone = copy.copy(command)
    clone.params = [copy.copy(p) for p in command.params]
    for param in clone.params:
        param.required = False
    return clone


def effective_config(parent: click.Context, command_name: str, args: list[str]) -> list[dict[str, Any]]:
    root = parent.find_root().command
    command = getattr(root, "commands", {}).get(command_name)
    if not isinstance(command, ConfigCommand):
        raise InputError(f"config show --for: {command_name!r} is not a configurable command")
    required = {p.name for p in command.params if p.required}
    lenient = _lenient(command)
    with lenient.make_context(command_name, list(args), parent=parent) as ctx:
        config = config_of(ctx)
        rows = []
        for param in lenient.params:
            if not isinstance(param, click.Option) or param.name == "help" or param.hidden or not param.expose_value:
                continue  # (-v is not a setting: it only changes what is logged)
            long = next((o for o in param.opts if o.startswith("--")), param.opts[0])
            value = ctx.params.get(param.name)
            source = _source(ctx, param, config)
            if value is None and param.name in required:
                source = "not set (required to run the command)"
            elif value is None and isinstance(param.show_default, str):
                value = param.show_default  # a default decided at run time, e.g. --format
            rows.append({"key": long.lstrip("-"), "value": _display(value), "source": source})
    origin = f"config file {config.path}"
    for rule_id, severity in sorted(config.rules.severities.items()):
        rows.append({"key": f"rules.severity.{rule_id}", "value": severity, "source": origin})
    for rule_id, params in sorted(config.rules.parameters.items()):
        for name, value in sorted(params.items()):
            rows.append({"key": f"rules.parameters.{rule_id}.{name}", "value": value, "source": origin})
    if config.inline_waivers is not None:
        rows.append({"key": "waivers (inline)", "value": f"{len(config.inline_waivers)} entries", "source": origin})
    return rows


def render(rows: list[dict[str, Any]], config_line: str, as_json: bool) -> str:
    if as_json:
        return json.dumps({"configFile": config_line, "settings": rows}, indent=2, default=str) + "\n"
    width_key = max(len(r["key"]) for r in rows)
    values = [json.dumps(r["value"]) if not isinstance(r["value"], str) else r["value"] for r in rows]
    width_value = max(len(v) for v in values)
    lines = [f"config file: {config_line}", ""]
    lines += [f"{r['key']:{width_key}}  {v:{width_value}}  {r['source']}" for r, v in zip(rows, values, strict=True)]
    return "\n".join(lines) + "\n"


def run_config_show(parent: click.Context, command_name: str, args: list[str], as_json: bool) -> str:
    rows = effective_config(parent, command_name, args)
    config = config_of(parent)
    config_line = f"{config.path} (from {config.found_by})" if config.path else "none"
    return render(rows, config_line, as_json)
