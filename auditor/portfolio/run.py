"""``flowaudit portfolio run TENANTS.yaml``: audit many tenants in one process.

How the work is spread (docs/portfolio-format.md, "How a run proceeds"):

* Live tenants are collected concurrently in one event loop, at most ``--parallel`` at once (each
  holds up to ``FLOWAUDIT_MAX_IN_FLIGHT`` connections). Every request waits for each Graph budget it
  counts in: the tenant's own (sign-ins, signInActivity, Conditional Access; shared by entries of
  the same tenant) and the application's across all tenants (one :class:`AppBudgets` for the run).
* Audits (rules, outputs) are CPU work: they run one at a time in a worker thread, as soon as a
  tenant's snapshot is there, while the loop goes on collecting the others. Offline entries
  (``snapshot:``/``sample:``) go straight to that thread.
* A tenant's failure is its row (status failed, the reason, the exit code its error has); the
  others go on. Only an unusable tenants file or output folder stops the run before it starts.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from auditor.errors import EXIT_INCOMPLETE, FlowauditError, InputError
from auditor.portfolio.model import (
    Portfolio,
    TenantRow,
    WorstFinding,
    build_portfolio,
    failed_row,
    tenant_file,
    tenant_row,
    worst_of,
)
from auditor.portfolio.tenants import TenantEntry, TenantsFile, read_tenants_file

if TYPE_CHECKING:
    from auditor.requests import AuditRequest
    from auditor.result import AuditResult

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_PARALLEL = 50
_GUID_LEN = 36


@dataclass(frozen=True)
class RunOptions:
    tenants_file: Path
    formats: list[str]  # each tenant's outputs (result.json always) and the portfolio's (html, pdf, md)
    output_dir: Path
    parallel: int = DEFAULT_PARALLEL
    quiet: bool = False


def _guid(value: str | None) -> bool:
    return bool(value) and len(value or "") == _GUID_LEN and (value or "").count("-") == 4


class _Run:
    def __init__(self, plan: TenantsFile, options: RunOptions, output_dir: Path, say: Callable[[str], None]) -> None:
        self.plan = plan
        self.options = options
        self.output_dir = output_dir
        self.say = say
        self.done = 0
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flowaudit-audit")
        self._app: Any = None
        self._tenant_budgets: dict[tuple[str, str], Any] = {}
        self._slots: asyncio.Semaphore | None = None

    # -- helpers --------------------------------------------------------------------------------
    async def _in_pool(self, func: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, func, *args)

    def _budgets(self, entry: TenantEntry, cloud: str) -> tuple[Any, Any]:
        """The app's budgets (one for the run) and the tenant's (one per tenant, whichever entry)."""
        from auditor.collect.settings import Settings
        from auditor.collect.throttle import AppBudgets, TenantBudgets

        settings = Settings.from_env()
        if self._app is None:
            self._app = AppBudgets.of(settings)
        key = (cloud, (entry.tenant or "").casefold())
        if key not in self._tenant_budgets:
            self._tenant_budgets[key] = TenantBudgets.of(settings)
        return self._app, self._tenant_budgets[key]

    # -- one tenant -----------------------------------------------------------------------------
    async def tenant(self, entry: TenantEntry) -> tuple[TenantRow, list[WorstFinding]]:
        folder = self.output_dir / entry.folder
        scratch: Path | None = None
        try:
            from auditor.commands.audit import audit_snapshot, prepare, resolve_sample

            request = await self._in_pool(tenant_request, entry, self.options.formats, folder)
            inputs = await self._in_pool(prepare, request)
            if request.live:
                assert self._slots is not None
                async with self._slots:
                    if request.save_snapshot is None:
                        scratch = Path(tempfile.mkdtemp(prefix="flowaudit-portfolio-"))
                    snapshot = await self._collect(entry, request, request.save_snapshot or scratch / "snapshot")  # type: ignore[operator]
            elif request.sample:
                snapshot = resolve_sample(request.sample)
            else:
                assert request.snapshot is not None  # an offline entry has one or the other
                snapshot = request.snapshot
            result = await self._in_pool(audit_snapshot, request, inputs, snapshot)
            if entry.tenant and _guid(entry.tenant) and _guid(result.tenantId) and \
                    entry.tenant.casefold() != result.tenantId.casefold():
                raise InputError(f"{self.plan.path}: {entry.label}: 'tenant' is {entry.tenant}, but the snapshot "
                                 f"is of tenant {result.tenantId}")
            written = await self._in_pool(_write_audited, result, request.formats, folder, entry)
            report = f"{entry.folder}/report.html" if any(p.name == "report.html" for p in written) else None
            row = tenant_row(result, name=entry.name, folder=entry.folder, report=report)
            outcome = row, worst_of(result, row)
        except FlowauditError as exc:
            outcome = await self._failed(entry, folder, exc.exit_code, str(exc))
        except Exception as exc:  # a bug while auditing one tenant: its row says so, the others go on
            from auditor.crash import one_line, write_traceback

            where = write_traceback(exc)
            detail = f" (traceback in {where})" if where else ""
            log.debug("tenant %s failed", entry.name, exc_info=True)
            outcome = await self._failed(entry, folder, EXIT_INCOMPLETE, f"internal error: {one_line(exc)}{detail}")
        finally:
            if scratch is not None:  # no tenant data is kept on disk without save-snapshot
                shutil.rmtree(scratch, ignore_errors=True)
        self.done += 1
        row = outcome[0]
        said = row.verdict if row.status == "audited" else f"failed (exit {row.exitCode}): {row.reason}"
        self.say(f"[{self.done}/{len(self.plan.entries)}] {entry.name}: {said}")
        return outcome

    async def _collect(self, entry: TenantEntry, request: AuditRequest, dest: Path) -> Path:
        from auditor.collect import collect_async

        app, budgets = self._budgets(entry, request.connection.cloud)
        return await collect_async(request.connection, dest, signin_days=request.connection.signin_days,
                                   whatif_max_calls=request.connection.whatif_max_calls, app=app, budgets=budgets)

    async def _failed(self, entry: TenantEntry, folder: Path, code: int, reason: str
                      ) -> tuple[TenantRow, list[WorstFinding]]:
        row = failed_row(name=entry.name, tenant_id=entry.tenant, folder=entry.folder, exit_code=code, reason=reason)
        try:
            await self._in_pool(_write_failed, folder, entry, code, reason)
        except FlowauditError as exc:  # the folder itself cannot be written: say so in the row too
            row = row.model_copy(update={"reason": f"{reason}; and {exc}"})
        return row, []

    async def all(self) -> list[tuple[TenantRow, list[WorstFinding]]]:
        self._slots = asyncio.Semaphore(self.options.parallel)
        if any(e.live for e in self.plan.entries):
            from auditor.collect import warm_up

            warm_up()  # before any tenant starts: nothing is waiting on the loop yet
        try:
            return list(await asyncio.gather(*(self.tenant(e) for e in self.plan.entries)))
        finally:
            self.pool.shutdown(wait=False, cancel_futures=True)


def tenant_request(entry: TenantEntry, run_formats: list[str], folder: Path) -> AuditRequest:
    """The `audit` request of one entry: its own keys > its config file > `defaults:` > built-in defaults.

    FLOWAUDIT_* variables of `audit`'s options do not apply per tenant (they would give every tenant
    the same snapshot or tenant); the collector's tuning variables and tokens do.
    """
    import click

    from auditor._format.registry import parse_formats
    from auditor.cli import audit, cli, make_audit_request
    from auditor.cli_config import configurable_commands, default_map, long_names
    from auditor.config import Config, read_config

    values: dict[str, Any] = {}
    with click.Context(audit) as ctx:
        for param in audit.params:
            if param.name:
                default = param.get_default(ctx)
                # click marks "no default" with its own sentinel; the request wants None
                values[param.name] = default if isinstance(default, (str, int, float, Path)) else None
    values.update(entry.defaults)
    config = Config()
    if entry.config is not None:
        with click.Context(cli) as root:  # the file is checked against every command's options, as audit does
            names = {name for command in configurable_commands(root) for name in long_names(command)}
        config = read_config(entry.config, names, "config")
        values.update(default_map(config, audit))
    values.update(entry.values)
    values["output_dir"] = folder
    formats = parse_formats(str(entry.get("formats"))) if entry.get("formats") else list(run_formats)
    if "json" not in formats:  # result.json is what `portfolio merge` and `report` read later
        formats = parse_formats(",".join([*formats, "json"]))

    def ids(name: str) -> frozenset[str] | None:
        value = values.get(name)
        return frozenset(p.strip().upper() for p in str(value).split(",") if p.strip()) if value else None

    return make_audit_request(values, config, formats=formats, only=ids("only_rules"), skip=ids("skip_rules"),
                              quiet=True, token_env=entry.token_env)


def _write_audited(result: AuditResult, formats: list[str], folder: Path, entry: TenantEntry) -> list[Path]:
    from auditor._format.output import publish, write_outputs
    from auditor.gate import GateView, decide_with

    written = write_outputs(result, formats, folder, hooks=False)
    code = decide_with(result, GateView.of(result.gate)).exit_code
    publish(folder, [("tenant.json", tenant_file(name=entry.name, tenant_id=result.tenantId).encode("utf-8")),
                     ("exit-code", f"{code}\n".encode("ascii"))], replace_set=False)
    return written


def _write_failed(folder: Path, entry: TenantEntry, code: int, reason: str) -> None:
    from auditor._format.output import publish

    # replace_set: an earlier run's result.json must not be merged as this run's
    publish(folder, [("tenant.json", tenant_file(name=entry.name, tenant_id=entry.tenant, reason=reason).encode()),
                     ("exit-code", f"{code}\n".encode("ascii"))], replace_set=True)


def check_output_dir(output_dir: Path) -> None:
    """Refuse an output folder that cannot be written before any tenant is collected (exit 2)."""
    from auditor._format.output import os_reason
    from auditor.errors import OutputError

    where = f"--output-dir {output_dir}"
    if output_dir.exists() and not output_dir.is_dir():
        raise OutputError(f"{where}: is a file, not a folder")
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(prefix=".flowaudit-", dir=output_dir)  # noqa: SIM115 - closed below
        probe.close()
    except OSError as exc:
        raise OutputError(f"{where}: cannot write output there: {os_reason(exc)}") from None


def preflight_pdf(formats: list[str]) -> None:
    """PDF needs Pango: say so once, before any tenant, rather than fail every tenant's PDF."""
    if "pdf" in formats:
        from auditor._format.pdf import _weasyprint

        _weasyprint()


def run_portfolio(options: RunOptions, say: Callable[[str], None]) -> tuple[Portfolio, list[Path]]:
    """Audit every tenant of the file; write each tenant's folder and the portfolio's files."""
    from auditor.portfolio.output import generated_at, resolve_portfolio_dir, write_portfolio

    plan = read_tenants_file(options.tenants_file)
    output_dir = resolve_portfolio_dir(options.output_dir)
    tenant_formats = {f for e in plan.entries for f in (str(e.get("formats") or "").split(","))} - {""}
    preflight_pdf([*options.formats, *tenant_formats])
    check_output_dir(output_dir)
    tenants = asyncio.run(_Run(plan, options, output_dir, say).all())
    portfolio = build_portfolio(tenants, generated_at=generated_at())
    return portfolio, write_portfolio(portfolio, options.formats, output_dir)


__all__ = ["DEFAULT_PARALLEL", "RunOptions", "run_portfolio", "tenant_request"]
