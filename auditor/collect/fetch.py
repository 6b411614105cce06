"""Fetch each source of SPEC §4 as raw Graph JSON, concurrently, ending each in one status.

A failing source never stops the others; a source that fails after some pages keeps them and is
marked partial. Per-flow children go through JSON $batch (≤ 20 requests per batch) with per-item
throttling retried.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from auditor.collect.endpoints import GraphEndpoint
from auditor.collect.progress import Progress
from auditor.collect.settings import Settings
from auditor.collect.status import classify, is_unlicensed
from auditor.collect.throttle import WindowLimiter, backoff_seconds
from auditor.collect.transport import RETRY_STATUSES, GraphError, GraphTransport
from auditor.snapshot.writer import iso_utc
from auditor.sources import BY_KEY, OK, USERS_SELECT, encode_query

SIGN_IN_FIELDS = ("id,createdDateTime,userId,userPrincipalName,userDisplayName,appId,appDisplayName,userType,"
                  "authenticationRequirement,conditionalAccessStatus,status,appliedConditionalAccessPolicies,"
                  "crossTenantAccessType,isInteractive")
# Users without signInActivity (no licence for it): Graph then serves up to 999 a page.
USERS_WITHOUT_ACTIVITY = (("$filter", "creationType eq 'SelfServiceSignUp'"), ("$select", USERS_SELECT),
                          ("$top", "999"))


class Spool:
    """Records kept on disk while fetching (sign-ins can be millions of lines)."""

    def __init__(self, directory: Path, name: str) -> None:
        self.path = directory / f"{name}.jsonl.gz"
        self._out: Any = gzip.open(self.path, "wb", compresslevel=1)  # noqa: SIM115 - closed in close()
        self.count = 0

    def extend(self, records: list[dict[str, Any]]) -> None:
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

    @property
    def has_data(self) -> bool:
        return self.status == OK


class Fetcher:
    def __init__(self, transport: GraphTransport, endpoint: GraphEndpoint, settings: Settings,
                 progress: Progress, spool_dir: Path) -> None:
        self.transport = transport
        self.endpoint = endpoint
        self.settings = settings
        self.progress = progress
        self.spool_dir = spool_dir
        self.signin_limiter = WindowLimiter(settings.signin_rate)
        self.activity_limiter = WindowLimiter(settings.activity_rate)

    # -- paging ---------------------------------------------------------------------------------
    async def pages(self, url: str, limiter: WindowLimiter | None = None) -> AsyncIterator[dict[str, Any]]:
        """Follow @odata.nextLink verbatim, including past empty pages (PageIterator stops there)."""
        seen: set[str] = set()
        next_url: str | None = url
        while next_url:
            if next_url in seen:
                raise GraphError(None, "PagingLoop", "Graph returned the same @odata.nextLink twice")
            seen.add(next_url)
            page = await self.transport.get(next_url, limiter)
            yield page
            link = page.get("@odata.nextLink")
            next_url = link if isinstance(link, str) and link else None

    async def collection(self, key: str, url: str, *, limiter: WindowLimiter | None = None,
                         spool: Spool | None = None) -> SourceOutcome:
        source = BY_KEY[key]
        outcome = SourceOutcome(key, spool=spool)
        self.progress.start(key)
        pages = 0
        try:
            async for page in self.pages(url, limiter):
                pages += 1
                items = [i for i in page.get("value") or [] if isinstance(i, dict)]
                if spool is not None:
                    spool.extend(items)
                else:
                    outcome.records.extend(items)
                self.progress.advance(key, len(items))
        except GraphError as error:
            outcome.error = error
            if pages:
                outcome.partial = True  # keep what came before the failure, and say so
            else:
                outcome.status = classify(error, api=source.api, cloud=self.endpoint.cloud)
        return outcome

    async def singleton(self, key: str) -> SourceOutcome:
        source = BY_KEY[key]
        outcome = SourceOutcome(key)
        self.progress.start(key)
        try:
            outcome.records = [await self.transport.get(self.endpoint.url(source.api, source.path))]
        except GraphError as error:
            outcome.status = classify(error, api=source.api, cloud=self.endpoint.cloud)
            outcome.error = error
        return outcome

    # -- sources --------------------------------------------------------------------------------
    async def simple(self, key: str) -> SourceOutcome:
        source = BY_KEY[key]
        if source.singleton:
            return await self.singleton(key)
        query = f"?{encode_query(source.query)}" if source.query else ""
        return await self.collection(key, self.endpoint.url(source.api, source.path + query))

    async def users(self) -> SourceOutcome:
        key = "selfServiceSignUpUsers"
        source = BY_KEY[key]
        # With signInActivity Graph serves at most 500 users a page, at 10 requests a minute.
        url = self.endpoint.url(source.api, f"{source.path}?{encode_query(source.query)}")
        outcome = await self.collection(key, url, limiter=self.activity_limiter)
        if outcome.error is not None and not outcome.partial and is_unlicensed(outcome.error):
            # signInActivity needs Entra ID P1: fetch the users without it; GST001 then says it cannot judge.
            omitted = outcome.error
            url = self.endpoint.url(source.api, f"{source.path}?{encode_query(USERS_WITHOUT_ACTIVITY)}")
            outcome = await self.collection(key, url)
            outcome.extra["omitted"] = {"signInActivity": omitted.as_manifest_error()}
            outcome.note = "without signInActivity (unlicensed)"
        return outcome

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
            await self._attach_children(outcome)
        return outcome

    # -- per-flow children through $batch -------------------------------------------------------
    async def _attach_children(self, outcome: SourceOutcome) -> None:
        requests: dict[str, tuple[int, str, bool, str]] = {}
        for index, flow in enumerate(outcome.records):
            flow_id = str(flow.get("id", ""))
            for child in BY_KEY["b2xUserFlows"].children:
                relative = f"/identity/b2xUserFlows/{quote(flow_id, safe='')}{child.path}"
                requests[str(len(requests) + 1)] = (index, child.name, child.collection, relative)
        results, failures = await self._run_batches(requests)
        for request_id, body in results.items():
            index, name, is_list, relative = requests[request_id]
            try:
                value = await self._child_value(body, is_list)
            except GraphError as error:
                failures[request_id] = error
                continue
            outcome.records[index][name] = value
        children: dict[str, Any] = {}
        for request_id, error in sorted(failures.items(), key=lambda item: int(item[0])):
            index, name, _, _ = requests[request_id]
            entry = children.setdefault(name, {
                "status": classify(error, api="v1.0", cloud=self.endpoint.cloud),
                "error": error.as_manifest_error(), "flows": []})
            child = next(c for c in BY_KEY["b2xUserFlows"].children if c.name == name)
            if child.permission:
                entry["permission"] = child.permission
            entry["flows"].append(outcome.records[index].get("id"))
        if children:
            outcome.extra["children"] = children
            outcome.note = "children missing: " + ", ".join(f"{k} ({v['status']})" for k, v in children.items())

    async def _child_value(self, body: dict[str, Any], is_list: bool) -> Any:
        if not is_list:
            # The expanded connectors come with @odata.context annotations that are not tenant data.
            return {k: v for k, v in body.items() if not k.endswith("@odata.context") and k != "@odata.context"}
        items = [i for i in body.get("value") or [] if isinstance(i, dict)]
        link = body.get("@odata.nextLink")
        if isinstance(link, str) and link:
            async for page in self.pages(link):
                items.extend(i for i in page.get("value") or [] if isinstance(i, dict))
        return items

    async def _run_batches(self, requests: dict[str, tuple[int, str, bool, str]]
                           ) -> tuple[dict[str, dict[str, Any]], dict[str, GraphError]]:
        results: dict[str, dict[str, Any]] = {}
        failures: dict[str, GraphError] = {}
        pending = list(requests)
        for attempt in range(self.settings.max_retries + 1):
            if not pending:
                break
            chunks = [pending[i:i + self.settings.batch_size]
                      for i in range(0, len(pending), self.settings.batch_size)]
            outcomes = await asyncio.gather(*(self._batch(chunk, requests) for chunk in chunks))
            pending, wait = [], 0
            for chunk_results, chunk_throttled in outcomes:
                for request_id, item in chunk_results.items():
                    if isinstance(item, GraphError):
                        failures[request_id] = item
                    else:
                        results[request_id] = item
                for request_id, (error, retry_after) in chunk_throttled.items():
                    if attempt == self.settings.max_retries:
                        failures[request_id] = error
                    else:
                        pending.append(request_id)
                        wait = max(wait, retry_after if retry_after is not None
                                   else backoff_seconds(attempt, self.settings.backoff_base))
            if pending:
                await asyncio.sleep(wait)
        return results, failures

    async def _batch(self, chunk: list[str], requests: dict[str, tuple[int, str, bool, str]]
                     ) -> tuple[dict[str, Any], dict[str, tuple[GraphError, float | None]]]:
        """One $batch POST; returns (done: id → body or GraphError, throttled: id → (error, Retry-After))."""
        done: dict[str, Any] = {}
        throttled: dict[str, tuple[GraphError, float | None]] = {}
        body = {"requests": [{"id": rid, "method": "GET", "url": requests[rid][3]} for rid in chunk]}
        try:
            answer = await self.transport.post(self.endpoint.url("v1.0", "/$batch"), body)
        except GraphError:
            # The batch endpoint itself failed: fall back to one GET per child (retried by the middleware).
            async def single(rid: str) -> None:
                try:
                    done[rid] = await self.transport.get(self.endpoint.url("v1.0", requests[rid][3]))
                except GraphError as error:
                    done[rid] = error
            await asyncio.gather(*(single(rid) for rid in chunk))
            return done, throttled
        responses = {str(r.get("id")): r for r in answer.get("responses") or [] if isinstance(r, dict)}
        for rid in chunk:
            item = responses.get(rid)
            if item is None:
                throttled[rid] = (GraphError(None, "MissingBatchResponse", "no response for this request"), None)
                continue
            status = int(item.get("status") or 0)
            headers = {str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()}
            item_body = item.get("body")
            if 200 <= status < 300:
                done[rid] = item_body if isinstance(item_body, dict) else {}
            elif status in RETRY_STATUSES:
                throttled[rid] = (GraphError.from_body(status, item_body), _retry_after(headers.get("retry-after")))
            else:
                done[rid] = GraphError.from_body(status, item_body)
        return done, throttled


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def spool_directory(dest: Path) -> Path:
    import tempfile

    dest.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{dest.name}.spool.", dir=dest.parent))


