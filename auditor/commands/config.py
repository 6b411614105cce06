"""``flowaudit config show``: the effective configuration of a command and where each value came from."""

from __future__ import annotations

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


def effective_config(parent: click.Context, command_name: str, args: list[str]) -> list[dict[str, Any]]:
    root = parent.find_root().command
    command = getattr(root, "commands", {}).get(command_name)
    if not isinstance(command, ConfigCommand):
        raise InputError(f"config show --for: {command_name!r} is not a configurable command")
    with command.make_context(command_name, list(args), parent=parent) as ctx:
        config = config_of(ctx)
        rows = []
        for param in command.params:
            if not isinstance(param, click.Option) or param.name == "help" or param.hidden:
                continue
            long = next((o for o in param.opts if o.startswith("--")), param.opts[0])
            rows.append({"key": long.lstrip("-"), "value": _display(ctx.params.get(param.name)),
                         "source": _source(ctx, param, config)})
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
