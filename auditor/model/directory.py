"""Directory-wide settings that decide who can get in through self-service sign-up and what they can
do: the service principals of linked applications and access review definitions (the authorization
policy's guest settings and sponsors are on the models of :mod:`auditor.model.graph`; the cross-tenant
settings in :mod:`auditor.model.conditional_access`).

Same conventions as :mod:`auditor.model.graph`: raw Graph JSON, unknown fields ignored, enum-like
strings kept raw and compared through :func:`~auditor.model.graph.fold`. A field Graph always
returns is required; a field it may leave out defaults to ``None``, which means *unknown* (never a
default value): ``guestUserRoleId`` missing from the authorization policy is not "Guest User".
"""

from __future__ import annotations

import re
from datetime import date, datetime
from urllib.parse import unquote_plus

from pydantic import Field, StrictBool, StrictInt

from auditor.model.graph import GraphObject, fold

# --- service principals of the applications linked to user flows ---------------------------------

class ServicePrincipal(GraphObject):
    id: str
    appId: str
    displayName: str | None = None
    appRoleAssignmentRequired: StrictBool | None = None  # None: not returned (not selected), i.e. unknown
    accountEnabled: StrictBool | None = None

    @property
    def label(self) -> str:
        return self.displayName or self.appId


# --- sponsors of self-service sign-up guests -------------------------------------------------------




# --- access review definitions ---------------------------------------------------------------------

_GUEST_FILTER = re.compile(r"usertype\s+eq\s+'guest'")
_SERVICE_PRINCIPAL = re.compile(r"/serviceprincipals/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


def _query_text(query: str | None) -> str:
    """A scope query, URL-decoded and casefolded (Graph returns ``c:c+eq+'Unified'`` as well)."""
    return unquote_plus(query or "").casefold()


class AccessReviewScope(GraphObject):
    """accessReviewQueryScope / accessReviewInactiveUsersQueryScope / principalResourceMembershipsScope."""

    query: str | None = None
    queryType: str | None = None
    queryRoot: str | None = None
    inactiveDuration: str | None = None
    principalScopes: list[AccessReviewScope] | None = None
    resourceScopes: list[AccessReviewScope] | None = None

    @property
    def is_memberships_scope(self) -> bool:
        return "principalresourcememberships" in self.type_name or self.principalScopes is not None \
            or self.resourceScopes is not None

    def principal_queries(self) -> list[str]:
        """The queries that select *who* is reviewed."""
        if self.is_memberships_scope:
            return [_query_text(s.query) for s in self.principalScopes or []]
        return [_query_text(self.query)]

    def resource_queries(self) -> list[str]:
        """The queries that select *what access* is reviewed (for a query scope: the query itself)."""
        if self.is_memberships_scope:
            return [_query_text(s.query) for s in self.resourceScopes or []]
        return [_query_text(self.query)]


class RecurrencePattern(GraphObject):
    type: str | None = None
    interval: StrictInt | None = None


class RecurrenceRange(GraphObject):
    type: str | None = None
    startDate: str | None = None
    endDate: str | None = None
    numberOfOccurrences: StrictInt | None = None


class PatternedRecurrence(GraphObject):
    pattern: RecurrencePattern | None = None
    range_: RecurrenceRange | None = Field(default=None, alias="range")


class AccessReviewSettings(GraphObject):
    recurrence: PatternedRecurrence | None = None
    autoApplyDecisionsEnabled: StrictBool | None = None
    defaultDecisionEnabled: StrictBool | None = None
    defaultDecision: str | None = None
    instanceDurationInDays: StrictInt | None = None


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


class AccessReviewDefinition(GraphObject):
    id: str
    displayName: str | None = None
    status: str | None = None
    scope: AccessReviewScope | None = None
    instanceEnumerationScope: AccessReviewScope | None = None
    settings: AccessReviewSettings | None = None

    @property
    def label(self) -> str:
        return self.displayName or self.id

    @property
    def reviews_guests(self) -> bool:
        """The people reviewed are filtered to ``userType eq 'Guest'``."""
        return bool(self.scope) and any(_GUEST_FILTER.search(q) for q in self.scope.principal_queries())  # type: ignore[union-attr]

    def reviewed_resources(self) -> list[tuple[str, str | None]]:
        """What access is reviewed: ``("users"|"groups"|"application"|"other", service principal id)``."""
        if self.scope is None:
            return []
        out: list[tuple[str, str | None]] = []
        for query in self.scope.resource_queries():
            sp = _SERVICE_PRINCIPAL.search(query)
            if sp:
                out.append(("application", sp.group(1)))
            elif query.startswith("/groups") or (query.startswith("./") and self.instanceEnumerationScope
                                                  and _query_text(self.instanceEnumerationScope.query)
                                                  .startswith("/groups")):
                out.append(("groups", None))
            elif query.startswith("/users"):
                out.append(("users", None))
            else:
                out.append(("other", None))
        return out

    def recurrence_state(self, now: datetime) -> str:
        """``recurring``, ``oneOff`` (no recurrence pattern, or a single occurrence) or ``ended``
        (the recurrence range closed before ``now``)."""
        recurrence = self.settings.recurrence if self.settings else None
        pattern = recurrence.pattern if recurrence else None
        if pattern is None or not fold(pattern.type) or (pattern.interval or 0) < 1:
            return "oneOff"
        span = recurrence.range_ if recurrence else None
        if span is not None:
            if fold(span.type) == "numbered" and span.numberOfOccurrences == 1:
                return "oneOff"
            end = _date(span.endDate)
            if fold(span.type) != "noend" and end is not None and end < now.date():
                return "ended"
        return "recurring"

    @property
    def auto_applies(self) -> bool:
        return bool(self.settings and self.settings.autoApplyDecisionsEnabled)


# --- cross-tenant access settings -----------------------------------------------------------------

