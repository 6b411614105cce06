"""Fetch each Graph source as raw JSON, concurrently, ending each in one status.

A failing source never stops the others; a source that fails after some pages keeps them and is
marked partial. Per-record children (user-flow children, Conditional Access groups and their
members, sponsors) go through JSON $batch (≤ 20 requests per batch) with per-item throttling
retried.

Nothing that is not what Graph returns is taken as data (docs/auth-setup.md): every page must
be a JSON object whose ``value`` is a list of objects carrying the keys its resource always has,
``@odata.nextLink`` must be a string on the Graph host, a link seen twice is a loop, a source
stops after ``FLOWAUDIT_MAX_PAGES`` pages, and every ``$batch`` answer must name each request once
with an integer status and an object body. Such a fault ends the source in ``error`` (keeping,
as partial, what was read before it), never in ``ok`` with fewer records.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from auditor.collect.endpoints import GraphEndpoint
from auditor.collect.progress import Progress
from auditor.collect.settings import Settings
from auditor.collect.status import UNLICENSED_CODE, classify, is_unlicensed
from auditor.collect.throttle import TenantBudgets, WindowLimiter, backoff_seconds
from auditor.collect.transport import (
    RETRY_STATUSES,
    GraphError,
    GraphTransport,
    describe_cap,
    retry_after_seconds,
)
from auditor.snapshot.writer import output_errors
from auditor.sources import (
    BY_KEY,
    ERROR,
    NOT_APPLICABLE,
    OK,
    UNAVAILABLE,
    UNLICENSED,
    USERS_SELECT,
    Child,
    encode_query,
    missing_record_keys,
)
from auditor.timefmt import iso_utc

SIGN_IN_FIELDS = ("id,createdDateTime,userId,userPrincipalName,userDisplayName,appId,appDisplayName,userType,"
                  "authenticationRequirement,conditionalAccessStatus,status,appliedConditionalAccessPolicies,"
                  "crossTenantAccessType,isInteractive")
SPONSORS_EXPAND = "sponsors($select=id,displayName)"
SPONSORS_PATH = "/users/{id}/sponsors?$select=id,displayName"
# Access reviews page with $top/$skip (docs: default page size 100); follow nextLink when Graph sends one.
ACCESS_REVIEW_PAGE = 100
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Conditional Access sources share one per-tenant budget (1 request/s).
CA_SOURCES = frozenset({"conditionalAccessPolicies", "namedLocations", "conditionalAccessWhatIf"})
# Children of a record whose failure stops nothing else; they are listed in the manifest instead.
_ANNOTATION = "@odata.context"


class Spool:
    """Records kept on disk while fetching (sign-ins can be millions of lines)."""

    def __init__(self, directory: Path, name: str) -> None:
        self.path = directory / f"{name}.jsonl.gz"
        with output_errors(directory):
            self._out: Any = gzip.open(self.path, "wb", compresslevel=1)  # noqa: SIM115 - closed in close()
        self.count = 0

    def extend(self, records: list[dict[str, Any]]) -> None:
        with output_errors(self.path.parent):
            for record in records:
                self._out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
        self.count += len(records)

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self.close()
        with gzip.open(self.path, "rb") as stream:
            for line in stream:
                yield json.loads(line)


@dataclass
class SourceOutcome:
    key: str
    status: str = OK
    records: list[dict[str, Any]] = field(default_factory=list)
    spool: Spool | None = None
    partial: bool = False
    error: GraphError | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # extra manifest keys (children, omitted fields)
    note: str = ""
    merged_count: int | None = None  # sign-ins after an incremental merge

    @property
    def count(self) -> int:
        return self.spool.count if self.spool is not None else len(self.records)


    def fail(self, error: GraphError, *, api: str, cloud: str) -> None:
        """End the source on ``error``: partial when records were read, its status otherwise."""
        self.error = error
        had = self.count > 0
        if error.untrusted:
            self.status, self.partial = ERROR, had  # keep what was read, but never call it ok
        elif had:
            self.partial = True  # Graph failed late: keep what came before, and say so
        else:
            self.status = classify(error, api=api, cloud=cloud, key=self.key)

    def fail_some(self, errors: list[GraphError], *, api: str, cloud: str) -> None:
        """End the source on the worst of the failures of some of its requests (untrusted data first):
        what the others read is kept, and the source is at least partial."""
        self.fail(next((e for e in errors if e.untrusted), errors[0]), api=api, cloud=cloud)
        if self.status == OK:
            self.partial = True

    def add_note(self, text: str) -> None:
        self.note = f"{self.note}; {text}" if self.note else text


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_link: str | None
    link_error: GraphError | None = None  # the items are sound, the link to more is not


@dataclass(frozen=True)
class BatchGet:
    """One GET sent through $batch: ``url`` relative to the v1.0 root."""

    url: str
    collection: bool
    headers: tuple[tuple[str, str], ...] = ()


def depends_on(key: str, outcomes: dict[str, SourceOutcome | None]) -> SourceOutcome | None:
    """An outcome for ``key`` when a source it is computed from is not ``ok``, else None."""
    for name, outcome in outcomes.items():
        if outcome is None or outcome.status == OK:
            continue
        # Nothing to grant for this source changes a dependency Graph declared not applicable,
        # unavailable or unlicensed; anything else leaves it unknown (error).
        status = outcome.status if outcome.status in (NOT_APPLICABLE, UNAVAILABLE, UNLICENSED) else ERROR
        reason = f": {outcome.error}" if outcome.error is not None else ""
        return SourceOutcome(key, status=status, error=GraphError(
            None, "DependsOnSource", f"needs {name}, which is {outcome.status}{reason}"[:500]))
    return None


def _without_annotations(body: dict[str, Any]) -> dict[str, Any]:
    # The expanded objects come with @odata.context annotations that are not tenant data.
    return {k: v for k, v in body.items() if not k.endswith(_ANNOTATION)}


class Fetcher:
    def __init__(self, transport: GraphTransport, endpoint: GraphEndpoint, settings: Settings,
                 progress: Progress, spool_dir: Path, budgets: TenantBudgets | None = None) -> None:
        self.transport = transport
        self.endpoint = endpoint
        self.settings = settings
        self.progress = progress
        self.spool_dir = spool_dir
        # The tenant's budgets: given when other collections of the same tenant share them.
        budgets = budgets or TenantBudgets.of(settings)
        self.signin_limiter = budgets.signins
        self.activity_limiter = budgets.activity
        self.ca_limiter = budgets.ca

    def _limiter(self, key: str) -> WindowLimiter | None:
        return self.ca_limiter if key in CA_SOURCES else None

    # -- validation -----------------------------------------------------------------------------
    def _page(self, body: dict[str, Any], where: str, key: str | None) -> Page:
        if "value" not in body:
            raise GraphError(200, "MalformedPage", f"{where} has no 'value' list")
        value = body["value"]
        if not isinstance(value, list):
            raise GraphError(200, "MalformedPage", f"{where}: 'value' is {_kind(value)}, expected a list of objects")
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise GraphError(200, "MalformedPage", f"{where}: item {index + 1} is {_kind(item)}, "
                                                       "expected an object")
        if key is not None:
            self._check_records(value, key, where)
        try:
            return Page(value, self._next_link(body, where))
        except GraphError as error:
            return Page(value, None, error)

    def _check_records(self, items: list[dict[str, Any]], key: str, where: str) -> None:
        for index, item in enumerate(items):
            missing = missing_record_keys(key, item)
            if missing:
                raise GraphError(200, "MalformedPage", f"{where}: item {index + 1} lacks {missing[0]}, which every "
                                                       f"{key} record carries")

    def _next_link(self, body: dict[str, Any], where: str) -> str | None:
        if "@odata.nextLink" not in body:
            return None
        link = body["@odata.nextLink"]
        if not isinstance(link, str) or not link:
            raise GraphError(200, "InvalidNextLink", f"{where}: @odata.nextLink is {_kind(link)}, expected a URL")
        if not re.match(r"^https?://", link, re.IGNORECASE) or not self.endpoint.same_origin(link):
            raise GraphError(200, "InvalidNextLink", f"{where}: @odata.nextLink leads off the Graph host "
                                                     f"({link[:80]})")
        return link

    # -- paging ---------------------------------------------------------------------------------
    async def pages(self, url: str, *, key: str | None = None, limiter: WindowLimiter | None = None,
                    headers: dict[str, str] | None = None, first: dict[str, Any] | None = None,
                    budget: list[int] | None = None) -> AsyncIterator[Page]:
        """Follow @odata.nextLink verbatim, including past empty pages (PageIterator stops there).

        ``first`` is a page already in hand (from $batch); ``budget`` a shared page counter.
        """
        seen: set[str] = {url}
        count = budget if budget is not None else [0]
        next_url: str | None = url
        while next_url is not None:
            if count[0] >= self.settings.max_pages:
                raise GraphError(None, "PageCap", f"more than {self.settings.max_pages} pages "
                                                  "(FLOWAUDIT_MAX_PAGES); stopped following @odata.nextLink")
            body = first if first is not None else await self.transport.get(next_url, limiter, headers)
            first = None
            count[0] += 1
            page = self._page(body, f"page {count[0]}", key)
            yield page
            if page.link_error is not None:
                raise page.link_error
            next_url = page.next_link
            if next_url is not None:
                if next_url in seen:
                    raise GraphError(None, "PagingLoop", "Graph returned the same @odata.nextLink twice")
                seen.add(next_url)

    async def collection(self, key: str, url: str, *, limiter: WindowLimiter | None = None,
                         spool: Spool | None = None, outcome: SourceOutcome | None = None) -> SourceOutcome:
        source = BY_KEY[key]
        outcome = outcome or SourceOutcome(key, spool=spool)
        self.progress.start(key)
        try:
            async for page in self.pages(url, key=key, limiter=limiter):
                if outcome.spool is not None:
                    outcome.spool.extend(page.items)
                else:
                    outcome.records.extend(page.items)
                self.progress.advance(key, len(page.items))
        except GraphError as error:
            outcome.fail(error, api=source.api, cloud=self.endpoint.cloud)
        return outcome

    async def get_object(self, key: str, url: str, where: str) -> dict[str, Any]:
        body = await self.transport.get(url, self._limiter(key))
        missing = missing_record_keys(key, body)
        if missing:
            raise GraphError(200, "MalformedObject", f"{where} lacks {missing[0]}, which every {key} record carries")
        return body

    async def singleton(self, key: str) -> SourceOutcome:
        source = BY_KEY[key]
        outcome = SourceOutcome(key)
        self.progress.start(key)
        try:
            outcome.records = [await self.get_object(key, self.endpoint.url(source.api, source.path), "the object")]
        except GraphError as error:
            outcome.fail(error, api=source.api, cloud=self.endpoint.cloud)
        return outcome

    # -- sources --------------------------------------------------------------------------------
    async def simple(self, key: str) -> SourceOutcome:
        source = BY_KEY[key]
        if source.singleton:
            return await self.singleton(key)
        query = f"?{encode_query(source.query)}" if source.query else ""
        return await self.collection(key, self.endpoint.url(source.api, source.path + query),
                                     limiter=self._limiter(key))

    async def users(self) -> SourceOutcome:
        """Self-service sign-up guests, with signInActivity and sponsors when Graph gives them.

        signInActivity needs Entra ID P1 and AuditLog.Read.All: without them the users are read
        again without it. Sponsors come from $expand; when Graph refuses the expand beside
        signInActivity (400) or silently leaves it out, they are read per user through $batch and
        nested under each user as ``sponsors``, so the snapshot has the same shape either way.
        The manifest says which of the two was collected (``signInActivity``, ``sponsors``).
        """
        key = "selfServiceSignUpUsers"
        source = BY_KEY[key]
        activity, expand = True, True
        omitted: dict[str, Any] = {}
        outcome = SourceOutcome(key)
        for _attempt in range(3):
            select = USERS_SELECT + (",signInActivity" if activity else "")
            # With signInActivity Graph serves at most 500 users a page, at 10 requests a minute.
            query: list[tuple[str, str]] = [("$filter", dict(source.query)["$filter"]), ("$select", select)]
            if expand:
                query.append(("$expand", SPONSORS_EXPAND))
            query.append(("$top", "500" if activity else "999"))
            url = self.endpoint.url(source.api, f"{source.path}?{encode_query(tuple(query))}")
            outcome = await self.collection(key, url, limiter=self.activity_limiter if activity else None)
            error = outcome.error
            if error is None or outcome.count or error.untrusted or error.fatal:
                break
            if activity and (is_unlicensed(error) or error.status == 403):
                # No licence, or no AuditLog.Read.All: the guests without it; GST001 says it cannot judge.
                omitted["signInActivity"] = error.as_manifest_error()
                activity = False
            elif expand and error.status == 400:
                omitted["sponsorsExpand"] = error.as_manifest_error()
                expand = False
            else:
                break
        if outcome.status == OK:
            await self._attach_sponsors(outcome, omitted)
        outcome.extra["signInActivity"] = activity and outcome.status == OK
        outcome.extra.setdefault("sponsors", False)
        if omitted:
            outcome.extra["omitted"] = omitted
        if not activity and outcome.status == OK:
            refused = omitted["signInActivity"]
            reason = "unlicensed" if (refused.get("code") or "").lower() == UNLICENSED_CODE else \
                "refused: it needs AuditLog.Read.All"
            outcome.add_note(f"without signInActivity ({reason})")
        return outcome

    async def _attach_sponsors(self, outcome: SourceOutcome, omitted: dict[str, Any]) -> None:
        lacking = [u for u in outcome.records if not isinstance(u.get("sponsors"), list)]
        if not lacking:
            outcome.extra["sponsors"] = True
            return
        items = {str(i): BatchGet(SPONSORS_PATH.format(id=quote(str(u.get("id", "")), safe="")), collection=True)
                 for i, u in enumerate(lacking)}
        results, failures = await self.batch_get(items)
        for rid, value in results.items():
            lacking[int(rid)]["sponsors"] = value
        if failures:
            first = failures[min(failures, key=int)]
            omitted["sponsors"] = {**first.as_manifest_error(), "users": len(failures)}
            outcome.add_note(f"sponsors missing for {len(failures)} user(s)")
            outcome.extra["sponsors"] = False
        else:
            outcome.extra["sponsors"] = True
            outcome.add_note("sponsors read per user")

    async def sign_ins(self, since: datetime, until: datetime) -> SourceOutcome:
        key = "signIns"
        spool = Spool(self.spool_dir, key)
        source = BY_KEY[key]
        # DateTimeOffset literals are unquoted in $filter.
        params = [(name, value.format(**{"from": iso_utc(since), "to": iso_utc(until)}))
                  for name, value in source.query]
        url = self.endpoint.url(source.api, f"{source.path}?{encode_query((*params, ('$select', SIGN_IN_FIELDS)))}")
        return await self.collection(key, url, limiter=self.signin_limiter, spool=spool)

    async def user_flows(self) -> SourceOutcome:
        outcome = await self.simple("b2xUserFlows")
        if outcome.status == OK and outcome.records:
            await self._attach_flow_children(outcome)
        return outcome

    async def conditional_access_groups(self, policies_task: Awaitable[SourceOutcome]) -> SourceOutcome:
        """Every group a CA policy includes or excludes, with its user members as ``transitiveMembers``.

        A group that no longer exists (404) is listed in the manifest (``notFound``), not fatal.
        """
        key = "conditionalAccessGroups"
        policies = await policies_task
        blocked = depends_on(key, {"conditionalAccessPolicies": policies})
        if blocked is not None:
            return blocked
        self.progress.start(key)
        outcome = SourceOutcome(key)
        source = BY_KEY[key]
        ids: dict[str, str] = {}
        for policy in policies.records:
            conditions = policy.get("conditions")
            users = conditions.get("users") if isinstance(conditions, dict) else None
            for name in ("includeGroups", "excludeGroups"):
                named = users.get(name) if isinstance(users, dict) else None
                for group_id in named if isinstance(named, list) else []:
                    if isinstance(group_id, str) and group_id:
                        ids.setdefault(group_id.casefold(), group_id)
        members: Child = source.children[0]
        items: dict[str, BatchGet] = {}
        order = sorted(ids.values(), key=str.casefold)
        for index, group_id in enumerate(order):
            base = source.path.format(id=quote(group_id, safe=""))
            items[f"g{index}"] = BatchGet(f"{base}?{encode_query(source.query)}", collection=False)
            # The OData cast to microsoft.graph.user is an advanced query (ConsistencyLevel: eventual).
            items[f"m{index}"] = BatchGet(base + members.path, collection=True,
                                          headers=(("ConsistencyLevel", "eventual"),))
        results, failures = await self.batch_get(items)
        not_found: list[str] = []
        failed: dict[str, GraphError] = {}
        for index, group_id in enumerate(order):
            group_error = failures.get(f"g{index}")
            if group_error is not None and group_error.status == 404:
                not_found.append(group_id)
                continue
            error = group_error or failures.get(f"m{index}")
            group = results.get(f"g{index}")
            if error is None and isinstance(group, dict):
                missing = missing_record_keys(key, group)
                if missing:
                    error = GraphError(200, "MalformedObject", f"group {group_id} lacks {missing[0]}")
            if error is not None:
                failed[group_id] = error
                continue
            assert group is not None  # an error was recorded otherwise
            outcome.records.append({**_without_annotations(group), members.name: results[f"m{index}"]})
            self.progress.advance(key, 1)
        if policies.partial:
            outcome.partial = True
            outcome.add_note("conditionalAccessPolicies is partial: some groups may be missing")
        if failed:
            outcome.fail_some([failed[g] for g in sorted(failed, key=str.casefold)], api=source.api,
                              cloud=self.endpoint.cloud)
            outcome.extra["failedGroups"] = sorted(failed, key=str.casefold)
        if not_found:
            outcome.extra["notFound"] = not_found
            outcome.add_note(f"{len(not_found)} group(s) named by a policy do not exist")
        return outcome

    async def cross_tenant_access(self) -> SourceOutcome:
        """The default cross-tenant settings, then every partner: one line per object."""
        key = "crossTenantAccessPolicy"
        source = BY_KEY[key]
        outcome = SourceOutcome(key)
        self.progress.start(key)
        try:
            outcome.records.append(await self.get_object(key, self.endpoint.url(source.api, source.path),
                                                         "the default policy"))
        except GraphError as error:
            outcome.fail(error, api=source.api, cloud=self.endpoint.cloud)
            return outcome
        partners = source.path.rsplit("/", 1)[0] + "/partners"
        return await self.collection(key, self.endpoint.url(source.api, partners), outcome=outcome)

    async def linked_service_principals(self, listeners_task: Awaitable[SourceOutcome]) -> SourceOutcome:
        """The service principals of the appIds linked to user flows, 15 appIds per request."""
        key = "linkedServicePrincipals"
        listeners = await listeners_task
        blocked = depends_on(key, {"userFlowApplications": listeners})
        if blocked is not None:
            return blocked
        source = BY_KEY[key]
        self.progress.start(key)
        app_ids, invalid = linked_app_ids(listeners.records, with_flow_only=False)
        outcome = SourceOutcome(key)
        if invalid:
            # Not an application id: no service principal can have it (APP004 reports it); never sent
            # to Graph, where one malformed value would fail the whole request.
            outcome.extra["invalidAppIds"] = invalid
        if listeners.partial:
            outcome.partial = True
            outcome.add_note("userFlowApplications is partial")
        size = self.settings.in_filter_size
        chunks = [app_ids[i:i + size] for i in range(0, len(app_ids), size)]
        parts = await asyncio.gather(*(self._service_principals(chunk) for chunk in chunks))
        for part in parts:
            outcome.records.extend(part.records)
        failures = [p.error for p in parts if p.error is not None]
        if failures:
            outcome.fail_some(failures, api=source.api, cloud=self.endpoint.cloud)
        return outcome

    async def _service_principals(self, app_ids: list[str]) -> SourceOutcome:
        key = "linkedServicePrincipals"
        source = BY_KEY[key]
        values = ",".join(f"'{app_id}'" for app_id in app_ids)
        query = tuple((name, value.replace("{appIds}", values)) for name, value in source.query)
        part = SourceOutcome(key)
        try:
            async for page in self.pages(self.endpoint.url(source.api, f"{source.path}?{encode_query(query)}"),
                                         key=key):
                part.records.extend(page.items)
        except GraphError as error:
            part.error = error
        return part

    async def access_reviews(self) -> SourceOutcome:
        """Access review definitions; pages by @odata.nextLink, or by $skip when Graph sends none."""
        key = "accessReviewDefinitions"
        source = BY_KEY[key]
        outcome = SourceOutcome(key)
        self.progress.start(key)
        budget = [0]
        seen: set[Any] = set()
        offset = 0
        try:
            while True:
                url = self.endpoint.url(source.api, f"{source.path}?$top={ACCESS_REVIEW_PAGE}&$skip={offset}")
                linked, received, fresh = False, 0, 0
                async for page in self.pages(url, key=key, budget=budget):
                    linked = linked or page.next_link is not None
                    received += len(page.items)
                    for item in page.items:
                        fresh += item.get("id") not in seen
                        seen.add(item.get("id"))
                    outcome.records.extend(page.items)
                    self.progress.advance(key, len(page.items))
                if linked or received < ACCESS_REVIEW_PAGE:
                    break
                if offset and not fresh:
                    raise GraphError(None, "PagingLoop", f"$skip={offset} returned the same definitions again")
                offset += ACCESS_REVIEW_PAGE
        except GraphError as error:
            outcome.fail(error, api=source.api, cloud=self.endpoint.cloud)
        return outcome

    # -- per-flow children through $batch -------------------------------------------------------
    async def _attach_flow_children(self, outcome: SourceOutcome) -> None:
        source = BY_KEY["b2xUserFlows"]
        cloud = self.endpoint.cloud
        wanted = [c for c in source.children if c.clouds is None or cloud in c.clouds]
        skipped = [c for c in source.children if c not in wanted]
        requests: dict[str, tuple[int, Child]] = {}
        items: dict[str, BatchGet] = {}
        for index, flow in enumerate(outcome.records):
            flow_id = str(flow.get("id", ""))
            for child in wanted:
                rid = str(len(items) + 1)
                requests[rid] = (index, child)
                items[rid] = BatchGet(f"{source.path}/{quote(flow_id, safe='')}{child.path}", child.collection)
        results, failures = await self.batch_get(items)
        for rid, value in results.items():
            index, child = requests[rid]
            outcome.records[index][child.name] = value
        children: dict[str, Any] = {}
        for rid, error in sorted(failures.items(), key=lambda item: int(item[0])):
            index, child = requests[rid]
            entry = children.setdefault(child.name, {
                "status": classify(error, api="v1.0", cloud=cloud), "error": error.as_manifest_error(), "flows": []})
            if child.permission:
                entry["permission"] = child.permission
            entry["flows"].append(outcome.records[index].get("id"))
        for child in skipped:
            # e.g. apiConnectorConfiguration in US Gov L4/L5: Graph does not serve it there.
            children[child.name] = {"status": NOT_APPLICABLE, "reason": f"not served in the {cloud} cloud",
                                    "flows": [f.get("id") for f in outcome.records]}
        if children:
            outcome.extra["children"] = children
            outcome.add_note("children missing: " + ", ".join(f"{k} ({v['status']})" for k, v in children.items()))

    # -- $batch ---------------------------------------------------------------------------------
    async def batch_get(self, items: dict[str, BatchGet]) -> tuple[dict[str, Any], dict[str, GraphError]]:
        """GET every item through $batch: id → value (a list for collections, every page followed;
        an object otherwise), or id → the GraphError it ended with."""
        results: dict[str, Any] = {}
        failures: dict[str, GraphError] = {}
        bodies, errors = await self._run_batches(items)
        failures.update(errors)

        async def finish(rid: str) -> None:
            try:
                results[rid] = await self._item_value(bodies[rid], items[rid])
            except GraphError as error:
                failures[rid] = error

        await asyncio.gather(*(finish(rid) for rid in bodies))
        return results, failures

    async def _item_value(self, body: dict[str, Any], item: BatchGet) -> Any:
        if not item.collection:
            return _without_annotations(body)
        values: list[dict[str, Any]] = []
        async for page in self.pages(self.endpoint.url("v1.0", item.url), first=body, headers=dict(item.headers)):
            values.extend(page.items)
        return values

    async def _run_batches(self, items: dict[str, BatchGet]
                           ) -> tuple[dict[str, dict[str, Any]], dict[str, GraphError]]:
        results: dict[str, dict[str, Any]] = {}
        failures: dict[str, GraphError] = {}
        pending = list(items)
        for attempt in range(self.settings.max_retries + 1):
            if not pending:
                break
            chunks = [pending[i:i + self.settings.batch_size]
                      for i in range(0, len(pending), self.settings.batch_size)]
            outcomes = await asyncio.gather(*(self._batch(chunk, items) for chunk in chunks))
            pending, wait = [], 0.0
            for chunk_results, chunk_throttled in outcomes:
                for request_id, item in chunk_results.items():
                    if isinstance(item, GraphError):
                        failures[request_id] = item
                    else:
                        results[request_id] = item
                for request_id, (error, retry_after) in chunk_throttled.items():
                    if attempt == self.settings.max_retries:
                        failures[request_id] = error
                    elif retry_after is not None and retry_after > self.settings.retry_after_cap:
                        error.message = f"{error.message} ({describe_cap(retry_after, self.settings.retry_after_cap)})"
                        failures[request_id] = error
                    else:
                        pending.append(request_id)
                        wait = max(wait, retry_after if retry_after is not None
                                   else backoff_seconds(attempt, self.settings.backoff_base))
            if pending:
                await asyncio.sleep(wait)
        return results, failures

    async def _batch(self, chunk: list[str], items: dict[str, BatchGet]
                     ) -> tuple[dict[str, Any], dict[str, tuple[GraphError, float | None]]]:
        """One $batch POST; returns (done: id → body or GraphError, throttled: id → (error, Retry-After))."""
        done: dict[str, Any] = {}
        throttled: dict[str, tuple[GraphError, float | None]] = {}
        requests = []
        for rid in chunk:
            request: dict[str, Any] = {"id": rid, "method": "GET", "url": items[rid].url}
            if items[rid].headers:
                request["headers"] = dict(items[rid].headers)
            requests.append(request)
        try:
            answer = await self.transport.post(self.endpoint.url("v1.0", "/$batch"), {"requests": requests})
        except GraphError as error:
            if error.fatal:
                raise
            # The batch endpoint itself failed: fall back to one GET per item (retried by the middleware).
            async def single(rid: str) -> None:
                try:
                    done[rid] = await self.transport.get(self.endpoint.url("v1.0", items[rid].url),
                                                         headers=dict(items[rid].headers))
                except GraphError as failure:
                    done[rid] = failure
            await asyncio.gather(*(single(rid) for rid in chunk))
            return done, throttled
        responses = answer.get("responses")
        problem = None
        if not isinstance(responses, list) or not all(isinstance(r, dict) for r in responses):
            problem = f"the $batch answer has no 'responses' list of objects ({_kind(responses)})"
        else:
            unknown = [r.get("id") for r in responses if not isinstance(r.get("id"), str) or r.get("id") not in chunk]
            if unknown:
                problem = f"the $batch answer names request id {unknown[0]!r}, which was not asked"
        if problem is not None:
            for rid in chunk:
                done[rid] = GraphError(200, "MalformedBatch", problem)
            return done, throttled
        by_id: dict[str, list[dict[str, Any]]] = {}
        for response in responses:  # type: ignore[union-attr]
            by_id.setdefault(response["id"], []).append(response)
        for rid in chunk:
            answers = by_id.get(rid, [])
            if not answers:
                throttled[rid] = (GraphError(None, "MissingBatchResponse", "no response for this request"), None)
                continue
            if len(answers) > 1:
                done[rid] = GraphError(200, "MalformedBatch", f"the $batch answer holds request id {rid!r} "
                                                              f"{len(answers)} times")
                continue
            item = answers[0]
            status = item.get("status")
            if not isinstance(status, int) or isinstance(status, bool):
                done[rid] = GraphError(200, "MalformedBatch", f"request {rid}: status {status!r} is not an integer")
                continue
            raw_headers = item.get("headers")
            headers = {str(k).lower(): str(v) for k, v in raw_headers.items()} if isinstance(raw_headers, dict) else {}
            item_body = item.get("body")
            if 200 <= status < 300:
                if isinstance(item_body, dict):
                    done[rid] = item_body
                else:
                    done[rid] = GraphError(status, "MalformedBatch", f"request {rid}: body is {_kind(item_body)}, "
                                                                     "expected an object")
            elif status in RETRY_STATUSES:
                throttled[rid] = (GraphError.from_body(status, item_body),
                                  retry_after_seconds(headers.get("retry-after")))
            else:
                done[rid] = GraphError.from_body(status, item_body)
        return done, throttled


def linked_app_ids(listeners: list[dict[str, Any]], *, with_flow_only: bool) -> tuple[list[str], list[str]]:
    """Distinct appIds of onSignupStart listeners (casefolded dedupe, sorted): (GUIDs, other strings)."""
    found: dict[str, str] = {}
    invalid: dict[str, str] = {}
    for listener in listeners:
        if with_flow_only:
            flow = listener.get("userFlow")
            if not (isinstance(flow, dict) and isinstance(flow.get("id"), str) and flow["id"]):
                continue
        source_filter = listener.get("sourceFilter")
        apps = source_filter.get("includeApplications") if isinstance(source_filter, dict) else None
        for app_id in apps if isinstance(apps, list) else []:
            if not isinstance(app_id, str) or not app_id.strip():
                continue
            target = found if GUID.match(app_id) else invalid
            target.setdefault(app_id.casefold(), app_id)
    return sorted(found.values(), key=str.casefold), sorted(invalid.values(), key=str.casefold)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


def spool_directory(dest: Path) -> Path:
    import tempfile

    with output_errors(dest):
        dest.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{dest.name}.spool.", dir=dest.parent))

