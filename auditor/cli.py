"""The ``flowaudit`` command line: parse options, call into the package, map errors to exit codes."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from auditor import __version__
from auditor.config import ConfigCommand
from auditor.connection import AUTH_MODES, CLOUDS
from auditor.errors import FlowauditError, InputError
from auditor.gate import FAIL_ON_CHOICES

log = logging.getLogger("auditor")


class FlowauditGroup(click.Group):
    """Turns expected failures into one line on stderr and the right exit code (SPEC §3)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FlowauditError as exc:
            click.echo(f"flowaudit: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("flowaudit: interrupted", err=True)
            ctx.exit(130)


def connection_options(func: Any) -> Any:
    """Options to reach Graph, shared by collect and live audit."""
    options = [
        click.option("--tenant", envvar="FLOWAUDIT_TENANT", help="Tenant ID or domain (login authority)."),
        click.option("--cloud", type=click.Choice(CLOUDS), default="global", show_default=True,
                     envvar="FLOWAUDIT_CLOUD", help="National cloud: sets the login authority and the Graph host."),
        click.option("--graph-url", envvar="FLOWAUDIT_GRAPH_URL",
                     help="Override the Graph root (e.g. http://127.0.0.1:8080); /v1.0 and /beta are appended."),
        click.option("--auth", type=click.Choice(AUTH_MODES), default="default", show_default=True,
                     envvar="FLOWAUDIT_AUTH", help="Credential to use. Secrets come from the environment only."),
        click.option("--signin-days", type=click.IntRange(1, 30), default=30, show_default=True,
                     envvar="FLOWAUDIT_SIGNIN_DAYS", help="Sign-in window to collect, in days."),
        click.option("--whatif-max-calls", type=click.IntRange(min=0), default=400, show_default=True,
                     envvar="FLOWAUDIT_WHATIF_MAX_CALLS",
                     help="At most this many Conditional Access What-If calls (paced at 1/s; 0: none)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.group(cls=FlowauditGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="flowaudit")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """Audit Microsoft Entra self-service sign-up via user flows.

    Start with: flowaudit audit --sample contoso
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, stream=sys.stderr, format="flowaudit: %(levelname)s: %(message)s")
    ctx.ensure_object(dict)


# --- audit ----------------------------------------------------------------------------------------

@cli.command(cls=ConfigCommand)
@click.option("--snapshot", "snapshot_path", type=click.Path(path_type=Path), envvar="FLOWAUDIT_SNAPSHOT",
              help="Audit this snapshot (directory or .zip) offline.")
@click.option("--sample", envvar="FLOWAUDIT_SAMPLE", help="Audit a bundled sample snapshot (contoso, fabrikam, clean).")
@click.option("--save-snapshot", type=click.Path(path_type=Path), envvar="FLOWAUDIT_SAVE_SNAPSHOT",
              help="Live audit: keep the collected snapshot here.")
@click.option("--format", "formats", default="json", show_default=True, envvar="FLOWAUDIT_FORMAT",
              help="Comma-separated: html,pdf,json,sarif,junit,md.")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("flowaudit-out"),
              show_default=True, envvar="FLOWAUDIT_OUTPUT_DIR", help="Where output files are written.")
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES), default="high", show_default=True,
              envvar="FLOWAUDIT_FAIL_ON", help="Exit 1 when an open finding is at or above this severity.")
@click.option("--require-complete", is_flag=True, envvar="FLOWAUDIT_REQUIRE_COMPLETE",
              help="Exit 3 when any rule could not be evaluated.")
@click.option("--waivers", type=click.Path(path_type=Path), envvar="FLOWAUDIT_WAIVERS", help="Waiver file (YAML).")
@click.option("--baseline", type=click.Path(path_type=Path), envvar="FLOWAUDIT_BASELINE",
              help="Previous result.json: mark findings new/existing, list resolved ones.")
@click.option("--fail-on-new", is_flag=True, envvar="FLOWAUDIT_FAIL_ON_NEW",
              help="With --baseline: gate only on new findings.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), envvar="FLOWAUDIT_CONFIG",
              help="Config file (default: ./flowaudit.yaml when present).")
@click.option("--rules", "only_rules", envvar="FLOWAUDIT_RULES", help="Run only these rule ids (comma-separated).")
@click.option("--skip-rules", envvar="FLOWAUDIT_SKIP_RULES", help="Skip these rule ids (comma-separated).")
@click.option("--reproducible", is_flag=True, envvar="FLOWAUDIT_REPRODUCIBLE",
              help="Pin generatedAt to the snapshot time (also honours SOURCE_DATE_EPOCH).")
@click.option("-q", "--quiet", is_flag=True, envvar="FLOWAUDIT_QUIET", help="No console summary or progress.")
@connection_options
def audit(**kwargs: Any) -> None:
    """Audit a tenant: a snapshot offline, or live from Graph."""
    from auditor.commands.audit import run_audit_command

    sys.exit(run_audit_command(kwargs))


# --- diff -----------------------------------------------------------------------------------------

@cli.command()
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "json", "md"]), default="table", show_default=True,
              help="Output on stdout.")
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES), default="high", show_default=True,
              envvar="FLOWAUDIT_DIFF_FAIL_ON", help="Exit 1 when a new open finding is at or above this severity.")
def diff(old: Path, new: Path, fmt: str, fail_on: str) -> None:
    """New, resolved and unchanged findings between two results (OLD.json NEW.json)."""
    from auditor.commands.diff import run_diff_command

    sys.exit(run_diff_command(old, new, fmt, fail_on))


# --- config ---------------------------------------------------------------------------------------

@cli.group("config")
def config_group() -> None:
    """The configuration file and effective settings."""


@config_group.command("show", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--for", "command_name", default="audit", show_default=True,
              help="The command whose settings to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def config_show(ctx: click.Context, command_name: str, as_json: bool, args: tuple[str, ...]) -> None:
    """Print the effective settings and where each came from (command line, FLOWAUDIT_* environment,
    config file, default). Pass the command's options after it, e.g. `config show --fail-on low`."""
    from auditor.commands.config import run_config_show

    click.echo(run_config_show(ctx, command_name, list(args), as_json), nl=False)


# --- collect / permissions ----------------------------------------------------------------------

@cli.command(cls=ConfigCommand)
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, envvar="FLOWAUDIT_OUTPUT",
              help="Snapshot to write: a directory, or a .zip file.")
@click.option("--previous", type=click.Path(path_type=Path), envvar="FLOWAUDIT_PREVIOUS",
              help="Previous snapshot: fetch only newer sign-ins and merge them.")
@click.option("-q", "--quiet", is_flag=True, envvar="FLOWAUDIT_QUIET", help="No progress or summary table.")
@connection_options
def collect(**kwargs: Any) -> None:
    """Pull tenant configuration and sign-ins from Microsoft Graph into a snapshot."""
    from auditor.commands.collect import run_collect_command

    path = run_collect_command(kwargs)
    if not kwargs.get("quiet"):
        click.echo(f"wrote {path}", err=True)


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def permissions(fmt: str) -> None:
    """The Graph application permissions each source needs, and the rules that depend on them."""
    from auditor.commands.permissions import render_permissions

    click.echo(render_permissions(fmt), nl=False)


# --- report ---------------------------------------------------------------------------------------

@cli.command()
@click.argument("result_path", metavar="RESULT.json", type=click.Path(path_type=Path))
@click.option("--format", "formats", default="html", show_default=True, envvar="FLOWAUDIT_FORMAT",
              help="Comma-separated: html,pdf,json,sarif,junit,md.")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("flowaudit-out"),
              show_default=True, envvar="FLOWAUDIT_OUTPUT_DIR", help="Where output files are written.")
@click.option("-q", "--quiet", is_flag=True, envvar="FLOWAUDIT_QUIET", help="Do not list the files written.")
def report(result_path: Path, formats: str, output_dir: Path, quiet: bool) -> None:
    """Re-render a saved audit result in other formats (no Graph, no snapshot)."""
    from auditor.commands.report import run_report_command

    sys.exit(run_report_command(result_path, formats, output_dir, quiet=quiet))


# --- rules ----------------------------------------------------------------------------------------

@cli.group()
def rules() -> None:
    """The rule catalog."""


@rules.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def rules_list(fmt: str) -> None:
    """List every rule with its severity and the sources it needs."""
    from auditor.commands.rules import list_rules

    click.echo(list_rules(fmt), nl=False)


@rules.command("show")
@click.argument("rule_id")
def rules_show(rule_id: str) -> None:
    """Show a rule's rationale, remediation, references and parameters."""
    from auditor.commands.rules import show_rule

    click.echo(show_rule(rule_id), nl=False)


def main() -> None:
    try:
        cli(prog_name="flowaudit")
    except InputError as exc:  # raised before the group could handle it (e.g. during parsing)
        click.echo(f"flowaudit: {exc}", err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
