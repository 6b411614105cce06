"""The ``flowaudit`` command line: parse options into typed requests, call into the package, and map
every failure to its exit code in one place (:class:`FlowauditGroup`)."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
from click.core import ParameterSource

from auditor import __version__
from auditor._format.registry import FORMAT_NAMES
from auditor.cli_config import ConfigCommand, config_of
from auditor.connection import AUTH_MODES, CLOUDS, ConnectionOptions
from auditor.errors import EXIT_INCOMPLETE, EXIT_INPUT, EXIT_SIGINT, EXIT_SIGTERM, FlowauditError, Terminated
from auditor.gate import FAIL_ON_CHOICES

if TYPE_CHECKING:
    from auditor.config import Config
    from auditor.requests import AuditRequest

log = logging.getLogger("auditor")
FORMAT_HELP = ",".join(FORMAT_NAMES)
INTERACTIVE_FORMATS = "html,json"  # no --format, stdout is a terminal
PIPELINE_FORMATS = "json"  # no --format, stdout is not a terminal: what pipelines always got
_VERBOSITY = "flowaudit.verbosity"
_QUIET = "flowaudit.quiet"


def _fail(ctx: click.Context, message: str, code: int) -> NoReturn:
    click.echo(f"flowaudit: {message}", err=True)
    ctx.exit(code)


class FlowauditGroup(click.Group):
    """Runs a command and owns the mapping of every failure to one line on stderr and its exit code:
    expected failures carry their code; an unexpected one is an internal error (3) whose traceback
    is written to a file that the line names (and shown with -v)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            code = super().invoke(ctx)
        except click.BadParameter as exc:
            _name_the_variable(exc)
            raise  # a usage error (exit 2)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise  # click's own: help, --version, usage errors (exit 2)
        except FlowauditError as exc:
            _fail(ctx, str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _fail(ctx, "interrupted", EXIT_SIGINT)
        except Terminated:
            _fail(ctx, "terminated", EXIT_SIGTERM)
        except Exception as exc:  # anything else is a bug: never a bare traceback, never exit 1
            from auditor.crash import one_line, write_traceback

            where = write_traceback(exc)
            if log.isEnabledFor(logging.INFO):
                import traceback

                traceback.print_exception(exc, file=sys.stderr)
            detail = f" (traceback in {where})" if where else ""
            _fail(ctx, f"internal error: {one_line(exc)}{detail}", EXIT_INCOMPLETE)
        ctx.exit(code if isinstance(code, int) else 0)


def _name_the_variable(exc: click.BadParameter) -> None:
    """A bad value that came from FLOWAUDIT_FAIL_ON is reported as FLOWAUDIT_FAIL_ON, not --fail-on:
    the user looks for it in the pipeline's variables, not on a command line they did not type."""
    from auditor.environment import envvar_in_use

    if exc.ctx is None or exc.param is None or exc.param.name is None:
        return
    if exc.ctx.get_parameter_source(exc.param.name) is ParameterSource.ENVIRONMENT:
        name = envvar_in_use(exc.param)
        if name:
            exc.param_hint = f"environment variable {name}"


def origin(ctx: click.Context, name: str) -> str:
    """How to name where an option's value came from in a message: the flag, the variable or the file."""
    from auditor.environment import envvar_in_use

    param = next(p for p in ctx.command.params if p.name == name)
    flag = next((o for o in param.opts if o.startswith("--")), param.opts[0])
    source = ctx.get_parameter_source(name)
    if source is ParameterSource.ENVIRONMENT:
        return envvar_in_use(param) or flag
    if source is ParameterSource.DEFAULT_MAP:
        return f"{config_of(ctx).path}: '{flag[2:]}'"
    return flag


def _set_verbosity(ctx: click.Context, level: int) -> None:
    root = ctx.find_root()
    root.meta[_VERBOSITY] = level
    for logger in (logging.getLogger(), log):  # the root too: -vv shows the libraries' debug lines
        logger.setLevel(logging.WARNING - 10 * min(level, 2))


def _more_verbose(ctx: click.Context, param: click.Parameter, value: int) -> None:
    if value:
        _set_verbosity(ctx, ctx.find_root().meta.get(_VERBOSITY, 0) + value)


def verbosity_option(func: Any) -> Any:
    """``-v`` after the command as well as before it (``flowaudit audit -v``)."""
    return click.option("-v", "--verbose", count=True, expose_value=False, callback=_more_verbose,
                        help="More log output on stderr; -v shows per-rule timings, -vv debug.")(func)


def quiet(ctx: click.Context, own: bool) -> bool:
    """The command's -q, or -q given before the command."""
    return own or bool(ctx.find_root().meta.get(_QUIET))


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is now: while the progress display runs, rich redirects it so
    log lines print above the bars instead of through them."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def _split_ids(value: str | None) -> frozenset[str] | None:
    if value is None:
        return None
    return frozenset(part.strip().upper() for part in value.split(",") if part.strip())


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


def _connection(kwargs: Mapping[str, Any], token_env: str | None = None) -> ConnectionOptions:
    return ConnectionOptions(tenant=kwargs["tenant"], cloud=kwargs["cloud"], graph_url=kwargs["graph_url"],
                             auth=kwargs["auth"], signin_days=kwargs["signin_days"],
                             whatif_max_calls=kwargs["whatif_max_calls"], token_env=token_env)


@click.group(cls=FlowauditGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="flowaudit")
@click.option("-v", "--verbose", count=True,
              help="More log output on stderr; -v shows per-rule timings, -vv debug. Also after the command.")
@click.option("-q", "--quiet", "quiet_all", is_flag=True, help="No summary or progress (also after the command).")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet_all: bool) -> None:
    """Audit Microsoft Entra self-service sign-up via user flows.

    Start with: flowaudit audit --sample contoso
    """
    handler = _CurrentStderr()
    handler.setFormatter(logging.Formatter("flowaudit: %(levelname)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    ctx.meta[_QUIET] = quiet_all
    _set_verbosity(ctx, verbose)
    if not ctx.resilient_parsing:
        from auditor.environment import warnings_for

        for line in warnings_for(ctx.command):
            log.warning(line)


# --- audit ----------------------------------------------------------------------------------------

OUTPUT_DIR_HELP = ("Where output files are written; {tenant} and {date} are replaced by the tenant id and the "
                   "snapshot's date (YYYY-MM-DD, UTC), e.g. out/{tenant}/{date}.")


@cli.command(cls=ConfigCommand, short_help="Audit a snapshot offline, or a tenant live from Graph.")
@click.option("--snapshot", "snapshot_path", type=click.Path(path_type=Path), envvar="FLOWAUDIT_SNAPSHOT",
              help="Audit this snapshot (directory or .zip) offline.")
@click.option("--sample", envvar="FLOWAUDIT_SAMPLE", help="Audit a bundled sample snapshot (contoso, fabrikam, clean).")
@click.option("--save-snapshot", type=click.Path(path_type=Path), envvar="FLOWAUDIT_SAVE_SNAPSHOT",
              help="Live audit: keep the collected snapshot here.")
@click.option("--format", "formats", envvar="FLOWAUDIT_FORMAT",
              show_default=f"{INTERACTIVE_FORMATS} on a terminal, {PIPELINE_FORMATS} otherwise",
              help=f"Comma-separated: {FORMAT_HELP}. \"On a terminal\" means stdout is one; pipelines keep "
                   f"getting {PIPELINE_FORMATS} alone.")
@click.option("-o", "--output-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("flowaudit-out"),
              show_default=True, envvar="FLOWAUDIT_OUTPUT_DIR", help=OUTPUT_DIR_HELP)
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES, case_sensitive=False), default="high",
              show_default=True, envvar="FLOWAUDIT_FAIL_ON",
              help="Exit 1 when an open finding is at or above this severity (none: never).")
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
@click.option("-q", "--quiet", is_flag=True, envvar="FLOWAUDIT_QUIET",
              help="No console summary, progress or verdict line (the exit code and the error line remain).")
@verbosity_option
@connection_options
@click.pass_context
def audit(ctx: click.Context, /, **kwargs: Any) -> int:
    """Audit a tenant: a snapshot offline (--snapshot, --sample), or live from Graph.

    Prints a summary (the failing rules with the resources that fail them) and ends with one verdict
    line: PASS, FAIL or INCOMPLETE, and why.
    """
    from auditor._format.registry import parse_formats
    from auditor.commands.audit import run_audit_command

    formats = kwargs["formats"]
    if formats is None:  # nothing on the command line, in FLOWAUDIT_FORMAT or in the config file
        formats = INTERACTIVE_FORMATS if sys.stdout.isatty() else PIPELINE_FORMATS
    request = make_audit_request(kwargs, config_of(ctx), formats=parse_formats(formats, origin(ctx, "formats")),
                                 only=_rule_ids(ctx, "only_rules"), skip=_rule_ids(ctx, "skip_rules"),
                                 quiet=quiet(ctx, kwargs["quiet"]))
    return run_audit_command(request)


def make_audit_request(values: Mapping[str, Any], config: Config, *, formats: list[str],
                       only: frozenset[str] | None, skip: frozenset[str] | None, quiet: bool,
                       token_env: str | None = None) -> AuditRequest:
    """The request of `audit`'s option values (by parameter name), as `audit` and each tenant of a
    portfolio run build it."""
    from auditor.requests import AuditRequest, Gate, RuleSelection

    return AuditRequest(
        formats=formats, output_dir=values["output_dir"],
        gate=Gate(fail_on=values["fail_on"].lower(), require_complete=values["require_complete"],
                  fail_on_new=values["fail_on_new"]),
        rules=RuleSelection(only=only, skip=skip or frozenset(), severities=config.rules.severities,
                            parameters=config.rules.parameters),
        snapshot=values["snapshot_path"], sample=values["sample"], save_snapshot=values["save_snapshot"],
        connection=_connection(values, token_env), waivers=values["waivers"], inline_waivers=config.inline_waivers,
        config_path=config.path, baseline=values["baseline"], reproducible=values["reproducible"], quiet=quiet)


def _rule_ids(ctx: click.Context, name: str) -> frozenset[str] | None:
    """--rules / --skip-rules as ids; unknown ids are named with where they came from."""
    ids = _split_ids(ctx.params[name])
    if ids and ctx.get_parameter_source(name) is ParameterSource.ENVIRONMENT:
        from auditor.catalog import load_catalog

        load_catalog().check_ids(ids, origin(ctx, name))
    return ids


# --- diff -----------------------------------------------------------------------------------------

class RegistryChoice(click.Choice[str]):
    """A choice whose values are a registry's keys, read when first needed: the registry's module
    (auditor.diff, with the result models) is imported only by a command that uses it."""

    def __init__(self, registry: Callable[[], Iterable[str]]) -> None:
        super().__init__(())
        self._registry = registry

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(self._registry())

    @choices.setter
    def choices(self, _value: object) -> None:  # click's __init__ assigns it
        pass


def _diff_renderers() -> Iterable[str]:
    from auditor.diff import RENDERERS

    return RENDERERS


@cli.command(short_help="New, resolved and not reassessed findings of two results.")
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=RegistryChoice(_diff_renderers), default="table", show_default=True,
              help="Output on stdout.")
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES, case_sensitive=False), default="high",
              show_default=True, envvar=["FLOWAUDIT_DIFF_FAIL_ON", "FLOWAUDIT_FAIL_ON"],
              help="Exit 1 when a new open finding is at or above this severity.")
@verbosity_option
def diff(old: Path, new: Path, fmt: str, fail_on: str) -> int:
    """New, resolved, not reassessed and unchanged findings between two results (OLD.json NEW.json)."""
    from auditor.commands.diff import run_diff_command

    return run_diff_command(old, new, fmt, fail_on.lower())


# --- config ---------------------------------------------------------------------------------------

@cli.group("config", short_help="The effective configuration and where each value came from.")
def config_group() -> None:
    """The configuration file and effective settings."""


@config_group.command("show", context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
                      short_help="Print the effective settings and where each came from.")
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

@cli.command(cls=ConfigCommand, short_help="Pull a tenant's configuration and sign-ins into a snapshot.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, envvar="FLOWAUDIT_OUTPUT",
              help="Snapshot to write: a directory, or a .zip file.")
@click.option("--previous", type=click.Path(path_type=Path), envvar="FLOWAUDIT_PREVIOUS",
              help="Previous snapshot: fetch only newer sign-ins and merge them.")
@click.option("-q", "--quiet", is_flag=True, envvar="FLOWAUDIT_QUIET", help="No progress or summary table.")
@verbosity_option
@connection_options
@click.pass_context
def collect(ctx: click.Context, /, **kwargs: Any) -> int:
    """Pull tenant configuration and sign-ins from Microsoft Graph into a snapshot."""
    from auditor.commands.collect import run_collect_command
    from auditor.requests import CollectRequest

    request = CollectRequest(output=kwargs["output"], connection=_connection(kwargs), previous=kwargs["previous"],
                             quiet=quiet(ctx, kwargs["quiet"]))
    path = run_collect_command(request)
    if not request.quiet:
        click.echo(f"wrote {path}", err=True)
    return 0


@cli.command(short_help="The Graph permissions each source needs, and its rules.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def permissions(fmt: str) -> None:
    """The Graph application permissions each source needs, and the rules that depend on them."""
    from auditor.commands.permissions import render_permissions

    click.echo(render_permissions(fmt), nl=False)


# --- report ---------------------------------------------------------------------------------------

@cli.command(short_help="Re-render a saved result.json in other formats.")
@click.argument("result_path", metavar="RESULT.json", type=click.Path(path_type=Path))
@click.option("--format", "formats", default="html", show_default=True, envvar="FLOWAUDIT_FORMAT",
              help=f"Comma-separated: {FORMAT_HELP}.")
@click.option("-o", "--output-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("flowaudit-out"),
              show_default=True, envvar="FLOWAUDIT_OUTPUT_DIR", help=OUTPUT_DIR_HELP)
# No environment variable: without the option, the gate is the one the audit ran with (stored in the
# result), so a re-rendered junit.xml agrees with that run's exit code.
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES, case_sensitive=False),
              help="Render JUnit (and the verdict in summary.md) for this --fail-on instead of the audit's own.")
@click.option("--plan", "plan_path", type=click.Path(path_type=Path),
              help="A plan (flowaudit plan -o): HTML and PDF get a \"Change plan\" appendix.")
@click.option("-q", "--quiet", "quiet_flag", is_flag=True, envvar="FLOWAUDIT_QUIET", help="Do not list the files written.")
@verbosity_option
@click.pass_context
def report(ctx: click.Context, result_path: Path, formats: str, output_dir: Path, fail_on: str | None,
           plan_path: Path | None, quiet_flag: bool) -> int:
    """Re-render a saved audit result in other formats (no Graph, no snapshot)."""
    from auditor._format.registry import parse_formats
    from auditor.commands.report import run_report_command

    return run_report_command(result_path, parse_formats(formats, origin(ctx, "formats")), output_dir,
                              quiet=quiet(ctx, quiet_flag), fail_on=fail_on.lower() if fail_on else None,
                              plan_path=plan_path)


# --- plan / apply ---------------------------------------------------------------------------------

class PlanGroup(click.Group):
    """``flowaudit plan RESULT.json ...`` makes a plan (the hidden ``make`` command); ``plan show`` shows one."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["make", *args]
        return super().parse_args(ctx, args)


@cli.group(cls=PlanGroup, short_help="Turn open findings into a change plan; show a plan.")
def plan() -> None:
    """Turn a result's open findings into a reviewable change plan.

    \b
    flowaudit plan RESULT.json --snapshot SNAPSHOT -o plan.json [--rules ID,...] [--permissions]
    flowaudit plan show plan.json [--format md]

    Each open finding with a remedy gets a change: its Graph requests, the current value it expects
    (read from the snapshot), its rollback and the permission it needs. Changes that need a person's
    input stay inert until the plan file supplies it. Apply with `flowaudit apply plan.json`.
    """


@plan.command("make", hidden=True)
@click.argument("result_path", metavar="RESULT.json", type=click.Path(path_type=Path))
@click.option("--snapshot", "snapshot_path", type=click.Path(path_type=Path), envvar="FLOWAUDIT_SNAPSHOT",
              help="The snapshot the result was audited from (current values are read from it).")
@click.option("--sample", help="A bundled sample as the snapshot (contoso, fabrikam, clean).")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Where to write the plan (JSON).")
@click.option("--rules", "only_rules", help="Plan only findings of these rule ids (comma-separated).")
@click.option("--permissions", is_flag=True, help="Print the ReadWrite permissions the plan's changes need.")
@click.option("-q", "--quiet", is_flag=True, help="Do not report the file written.")
def plan_make(result_path: Path, snapshot_path: Path | None, sample: str | None, output: Path | None,
              only_rules: str | None, permissions: bool, quiet: bool) -> int:
    """Make a plan from RESULT.json and its snapshot."""
    from auditor.commands.plan import run_plan_command
    from auditor.requests import PlanRequest

    return run_plan_command(PlanRequest(result=result_path, snapshot=snapshot_path, sample=sample, output=output,
                                        rules=_split_ids(only_rules), permissions=permissions, quiet=quiet))


@plan.command("show", short_help="Show a plan: changes, requests, preconditions, rollback.")
@click.argument("plan_path", metavar="PLAN.json", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "md"]), default="text", show_default=True,
              help="Console text, or Markdown for a change ticket.")
def plan_show(plan_path: Path, fmt: str) -> None:
    """Show a plan: each change, its requests, preconditions, rollback, inputs and permissions."""
    from auditor.commands.plan import run_plan_show

    click.echo(run_plan_show(plan_path, fmt), nl=False)


@cli.command(short_help="Apply a plan: a dry run, or checked live with --yes.")
@click.argument("plan_path", metavar="PLAN.json", type=click.Path(path_type=Path))
@click.option("--yes", is_flag=True, help="Really apply. Without it: a dry run that prints what would be sent.")
@click.option("--tenant", envvar="FLOWAUDIT_TENANT", help="Tenant ID or domain (login authority).")
@click.option("--cloud", type=click.Choice(CLOUDS), envvar="FLOWAUDIT_CLOUD",
              help="National cloud (default: the plan's); must match the plan.")
@click.option("--graph-url", envvar="FLOWAUDIT_GRAPH_URL",
              help="Override the Graph root (e.g. http://127.0.0.1:8080); the plan's URLs are rebased onto it.")
@click.option("--auth", type=click.Choice(AUTH_MODES), default="default", show_default=True,
              envvar="FLOWAUDIT_AUTH", help="Credential to use. Secrets come from the environment only.")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where apply-log.jsonl (appended) and rollback.json go (default: the current directory).")
@click.option("-q", "--quiet", is_flag=True, help="Only the one-line verdict on stderr.")
def apply(plan_path: Path, yes: bool, tenant: str | None, cloud: str | None, graph_url: str | None, auth: str,
          output_dir: Path | None, quiet: bool) -> int:
    """Apply a plan (dry run unless --yes): re-read each resource, refuse changes whose precondition no
    longer holds, apply the rest in order, write rollback.json and an apply log.

    Exit 0 all ready changes applied, 1 some refused or failed, 2 invalid plan, 3 Graph unreachable or
    authentication failed."""
    from auditor.commands.plan import run_apply_command
    from auditor.requests import ApplyRequest

    connection = ConnectionOptions(tenant=tenant, cloud=cloud or "global", graph_url=graph_url, auth=auth)
    return run_apply_command(ApplyRequest(plan=plan_path, yes=yes, connection=connection,
                                          cloud_given=cloud is not None, output_dir=output_dir, quiet=quiet))


# --- rules ----------------------------------------------------------------------------------------

@cli.group(short_help="The rule catalog: list, show.")
def rules() -> None:
    """The rule catalog."""


@rules.command("list", short_help="List every rule with its severity and sources.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def rules_list(fmt: str) -> None:
    """List every rule with its severity and the sources it needs."""
    from auditor.commands.rules import list_rules

    click.echo(list_rules(fmt), nl=False)


@rules.command("show", short_help="A rule's rationale, remediation and references.")
@click.argument("rule_id")
def rules_show(rule_id: str) -> None:
    """Show a rule's rationale, remediation, references and parameters."""
    from auditor.commands.rules import show_rule

    click.echo(show_rule(rule_id), nl=False)


# --- portfolio ------------------------------------------------------------------------------------

PORTFOLIO_FORMATS_HELP = (f"Comma-separated: {FORMAT_HELP}. Each tenant's folder gets these (and always result.json); "
                          "the portfolio gets portfolio.json always, and portfolio.html/.pdf/.md for html, pdf, md.")
PORTFOLIO_DIR_HELP = ("Where the portfolio's files and one folder per tenant are written; {date} is replaced by "
                      "today's date (UTC).")


@cli.group(short_help="Audit many tenants in one run, or merge their audits.")
def portfolio() -> None:
    """Many tenants: `portfolio run TENANTS.yaml` audits them in one process; `portfolio merge DIR...`
    merges tenant folders audited elsewhere (a CI matrix, a Kubernetes indexed Job). Both write
    portfolio.json (and .html/.pdf/.md) and exit with the worst tenant's code (2 > 3 > 1 > 0)."""


def _portfolio_formats(ctx: click.Context, formats: str | None) -> list[str]:
    from auditor._format.registry import parse_formats

    if formats is None:  # as for audit: people at a terminal get the page, pipelines the JSON
        formats = INTERACTIVE_FORMATS if sys.stdout.isatty() else PIPELINE_FORMATS
    return parse_formats(formats, origin(ctx, "formats"))


@portfolio.command("run", short_help="Audit every tenant of a tenants file into one portfolio.")
@click.argument("tenants_file", metavar="TENANTS.yaml", type=click.Path(path_type=Path))
@click.option("--format", "formats", envvar="FLOWAUDIT_PORTFOLIO_FORMAT",
              show_default=f"{INTERACTIVE_FORMATS} on a terminal, {PIPELINE_FORMATS} otherwise",
              help=PORTFOLIO_FORMATS_HELP)
@click.option("-o", "--output-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("portfolio-out"),
              show_default=True, envvar="FLOWAUDIT_PORTFOLIO_OUTPUT_DIR", help=PORTFOLIO_DIR_HELP)
@click.option("--parallel", type=click.IntRange(1, 500), default=50, show_default=True,
              envvar="FLOWAUDIT_PORTFOLIO_PARALLEL",
              help="Live tenants collected at once (each within Graph's per-tenant budgets; all together "
                   "within the app's budgets across tenants).")
@click.option("-q", "--quiet", is_flag=True, envvar="FLOWAUDIT_QUIET",
              help="No per-tenant lines, table or verdict (the exit code and the error line remain).")
@verbosity_option
@click.pass_context
def portfolio_run(ctx: click.Context, tenants_file: Path, formats: str | None, output_dir: Path, parallel: int,
                  quiet: bool) -> int:
    """Audit every tenant of TENANTS.yaml (live from Graph, or a snapshot offline) in one process.

    Each tenant gets its folder in --output-dir; portfolio.json/.html/.pdf show a tenant x rule family
    matrix, the worst findings across tenants and each tenant's status. A tenant that cannot be
    audited gets its row with the reason; the others go on. Exit code: the worst tenant's.
    """
    from auditor.commands.portfolio import run_portfolio_command

    return run_portfolio_command(tenants_file, _portfolio_formats(ctx, formats), output_dir, parallel,
                                 _quiet(ctx, quiet))


@portfolio.command("merge", short_help="Merge tenant folders audited elsewhere into one portfolio.")
@click.argument("folders", nargs=-1, required=True, metavar="DIR...", type=click.Path(path_type=Path))
@click.option("--format", "formats", envvar="FLOWAUDIT_PORTFOLIO_FORMAT",
              show_default=f"{INTERACTIVE_FORMATS} on a terminal, {PIPELINE_FORMATS} otherwise",
              help="Comma-separated: json (always), html, pdf, md: the portfolio's files.")
@click.option("-o", "--output-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("portfolio-out"),
              show_default=True, envvar="FLOWAUDIT_PORTFOLIO_OUTPUT_DIR", help=PORTFOLIO_DIR_HELP)
@click.option("-q", "--quiet", is_flag=True, envvar="FLOWAUDIT_QUIET",
              help="No per-tenant lines, table or verdict (the exit code and the error line remain).")
@verbosity_option
@click.pass_context
def portfolio_merge(ctx: click.Context, folders: tuple[Path, ...], formats: str | None, output_dir: Path,
                    quiet: bool) -> int:
    """Merge tenant folders (each one tenant's `flowaudit audit` output folder: result.json, and
    optionally tenant.json with its name and exit-code with its audit's exit code) into one portfolio.

    A folder without a readable result.json is that tenant's row as failed, with the exit code it
    recorded (else 2 for a broken result, 3 for none). Exit code: the worst tenant's.
    """
    from auditor.commands.portfolio import run_merge_command

    return run_merge_command(list(folders), _portfolio_formats(ctx, formats), output_dir, _quiet(ctx, quiet))


def _quiet(ctx: click.Context, own: bool) -> bool:
    return quiet(ctx, own)


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


def main() -> None:
    # SIGTERM unwinds like Ctrl-C: atomic writers remove their temporary files on the way out.
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        cli(prog_name="flowaudit")
    except FlowauditError as exc:  # raised while parsing, before a command could run (config file)
        click.echo(f"flowaudit: {exc}", err=True)
        sys.exit(exc.exit_code)
    except Terminated:
        click.echo("flowaudit: terminated", err=True)
        sys.exit(EXIT_SIGTERM)
    except KeyboardInterrupt:
        click.echo("flowaudit: interrupted", err=True)
        sys.exit(EXIT_SIGINT)


__all__ = ["EXIT_INPUT", "cli", "main"]


if __name__ == "__main__":
    main()
