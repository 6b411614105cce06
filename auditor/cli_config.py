"""Click wiring of the config file: load it before a command's options resolve, and turn its option
values into click's ``default_map``. That gives the precedence command line > ``FLOWAUDIT_*``
environment > config file > built-in default; ``flowaudit config show`` reports where each value
came from. The file itself is read and validated by :mod:`auditor.config`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from auditor.config import CONFIG_ENVVAR, CONFIG_FILE_NAME, Config, locate, read_config
from auditor.errors import InputError

META_KEY = "flowaudit.config"


def long_names(command: click.Command) -> dict[str, click.Parameter]:
    names: dict[str, click.Parameter] = {}
    for param in command.params:
        if isinstance(param, click.Option):
            for opt in param.opts + param.secondary_opts:
                if opt.startswith("--"):
                    names[opt[2:]] = param
    return names


def convert_value(key: str, value: Any, param: click.Parameter, path: Path, where: str | None = None) -> Any:
    """A value written in a YAML file (config or tenants file) as the option's type; paths relative
    to that file. ``where`` names the place in messages (default: the file)."""
    where = where or str(path)
    if isinstance(param, click.Option) and param.is_flag:
        if not isinstance(value, bool):
            raise InputError(f"{where}: '{key}': expected true or false, got {value!r}")
        return value
    if isinstance(value, list) and all(isinstance(v, (str, int)) for v in value):
        value = ",".join(str(v) for v in value)  # e.g. format: [json, sarif]
    if isinstance(value, (dict, list)) or value is None:
        raise InputError(f"{where}: '{key}': expected a single value")
    try:
        converted = param.type.convert(value, param, None)
    except click.BadParameter as exc:
        raise InputError(f"{where}: '{key}': {exc.message}") from None
    if isinstance(param.type, click.Path) and not Path(converted).is_absolute():
        converted = path.parent / converted  # relative to the config file, not to the cwd
    return converted


def default_map(config: Config, command: click.Command) -> dict[str, Any]:
    """This command's option defaults from the file (options of other commands are ignored)."""
    assert config.path is not None
    by_long = long_names(command)
    values: dict[str, Any] = {}
    for key, value in config.options.items():
        if key in by_long:
            values[str(by_long[key].name)] = convert_value(key, value, by_long[key], config.path)
    if config.rules.enable is not None and "rules" in by_long:
        values["only_rules"] = ",".join(config.rules.enable)
    if config.rules.disable and "skip-rules" in by_long:
        values["skip_rules"] = ",".join(config.rules.disable)
    return values


def configurable_commands(ctx: click.Context) -> list[click.Command]:
    root = ctx.find_root().command
    found: list[click.Command] = []

    def walk(command: click.Command) -> None:
        if isinstance(command, ConfigCommand):
            found.append(command)
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    walk(root)
    return found or [ctx.command]


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
                commands = configurable_commands(ctx)
                config = read_config(path, {name for command in commands for name in long_names(command)}, found_by)
                for other in commands:  # the whole file is validated, whichever command reads it
                    if other is not self:
                        default_map(config, other)
                ctx.default_map = {**(ctx.default_map or {}), **default_map(config, self)}
        ctx.meta[META_KEY] = config
        return super().parse_args(ctx, args)


def config_of(ctx: click.Context) -> Config:
    """The config the running command loaded (an empty one outside a ConfigCommand)."""
    config = ctx.meta.get(META_KEY)
    return config if isinstance(config, Config) else Config()
