"""One streaming pass over the sign-in log into the aggregates the SIG (and CAP001) rules read.

Sign-ins can be millions of lines, so nothing here keeps a list of them: each record is read as a
plain dict (pydantic per record would cost more than the JSON parse itself) and folded into
counters keyed by guest, application and policy. Memory grows with guests and apps, not sign-ins.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from auditor.model.graph import ID_PATTERN


@dataclass
class SignInGroup:
    """Counts for one class of sign-ins (e.g. single-factor successes of self-service guests)."""

    count: int = 0
    users: Counter[str] = field(default_factory=Counter)
    apps: Counter[str] = field(default_factory=Counter)
    first: str | None = None
    last: str | None = None

    def add(self, user_id: str, app_key: str, created: str | None) -> None:
        self.count += 1
        self.users[user_id] += 1
        self.apps[app_key] += 1
        if created:
            if self.first is None or created < self.first:
                self.first = created
            if self.last is None or created > self.last:
                self.last = created


@dataclass
class SignInAggregates:
    scanned: int = 0
    guest_sign_ins: int = 0
    single_factor: SignInGroup = field(default_factory=SignInGroup)
    ca_not_applied: SignInGroup = field(default_factory=SignInGroup)
    # policy id -> sign-ins of self-service guests that failed that policy's authentication strength
    strength_failures: dict[str, SignInGroup] = field(default_factory=dict)
    # any failure of a policy (used as CAP001 evidence)
    policy_failures: dict[str, SignInGroup] = field(default_factory=dict)
    policy_names: dict[str, str] = field(default_factory=dict)
    strength_names: dict[str, str] = field(default_factory=dict)
    app_names: dict[str, str] = field(default_factory=dict)
    user_names: dict[str, str] = field(default_factory=dict)
    last_seen: dict[str, str] = field(default_factory=dict)


def _fold(value: Any) -> str:
    return value.casefold() if isinstance(value, str) else ""


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


Reject = Callable[[int, dict[str, Any], str], None]

# The values Graph (beta) documents for the two fields SIG001 and SIG003 compare against:
# "singleFactorAuthentication " or "notApplied\ud800" must not read as "some other value".
_REQUIREMENTS = frozenset({"singlefactorauthentication", "multifactorauthentication"})
_CA_STATUSES = frozenset({"success", "failure", "notapplied", "unknownfuturevalue"})


def _problem(record: dict[str, Any]) -> str | None:
    """Why a guest's sign-in cannot be judged: a field the SIG rules read that Graph (beta) always
    returns is missing, of another type, or not a value Graph documents. Such a record must not count
    as "no finding". (Written for speed: it runs once per guest sign-in.)"""
    if type(record.get("createdDateTime")) is not str:
        return "field 'createdDateTime': expected a string"
    status = record.get("status")
    if type(status) is not dict:
        return "field 'status': expected an object"
    if type(status.get("errorCode")) is not int:
        return "field 'status.errorCode': expected an integer"
    requirement = record.get("authenticationRequirement")
    if type(requirement) is not str or requirement.casefold() not in _REQUIREMENTS:
        return f"field 'authenticationRequirement': {requirement!r:.60} is not a value Graph documents"
    ca_status = record.get("conditionalAccessStatus")
    if type(ca_status) is not str or ca_status.casefold() not in _CA_STATUSES:
        return f"field 'conditionalAccessStatus': {ca_status!r:.60} is not a value Graph documents"
    applied = record.get("appliedConditionalAccessPolicies")
    if type(applied) is not list:
        return "field 'appliedConditionalAccessPolicies': expected a list"
    for index, item in enumerate(applied):
        if type(item) is not dict or type(item.get("id")) is not str or type(item.get("result")) is not str:
            return f"field 'appliedConditionalAccessPolicies.{index}': expected an object with string id and result"
        strength = item.get("authenticationStrength")
        if strength is not None and type(strength) is not dict:
            return f"field 'appliedConditionalAccessPolicies.{index}.authenticationStrength': expected an object"
    return None


def aggregate_sign_ins(records: Iterable[tuple[int, dict[str, Any]]], guest_ids: set[str],
                       reject: Reject | None = None) -> SignInAggregates:
    """Fold sign-ins (``(line number, record)``) of the given self-service guests (by user id) into
    aggregates; a record that cannot be judged is passed to ``reject`` with the reason instead."""
    agg = SignInAggregates()
    guest_keys = {g.casefold() for g in guest_ids}
    for lineno, record in records:
        agg.scanned += 1
        user_id = record.get("userId")
        if not isinstance(user_id, str) or not ID_PATTERN.fullmatch(user_id):
            # Whose sign-in it is cannot be told: it may be a guest's.
            if reject:
                reject(lineno, record, "field 'userId': expected a user id (a GUID string)")
            continue
        if user_id.casefold() not in guest_keys:
            continue
        problem = _problem(record)
        if problem:
            if reject:
                reject(lineno, record, problem)
            continue
        user_id = user_id.casefold()
        agg.guest_sign_ins += 1
        created: str = record["createdDateTime"]
        app_id = _text(record.get("appId")) or ""
        app_key = app_id.casefold()
        if app_key and app_key not in agg.app_names:
            agg.app_names[app_key] = _text(record.get("appDisplayName")) or app_id
        if user_id not in agg.user_names:
            agg.user_names[user_id] = (_text(record.get("userPrincipalName")) or _text(record.get("userDisplayName"))
                                       or user_id)
        if created > agg.last_seen.get(user_id, ""):
            agg.last_seen[user_id] = created
        succeeded = record["status"]["errorCode"] == 0
        if succeeded and _fold(record["authenticationRequirement"]) == "singlefactorauthentication":
            agg.single_factor.add(user_id, app_key, created)
        if succeeded and _fold(record["conditionalAccessStatus"]) == "notapplied":
            agg.ca_not_applied.add(user_id, app_key, created)
        for applied in record["appliedConditionalAccessPolicies"]:
            if _fold(applied.get("result")) != "failure":
                continue
            policy_id = applied["id"].casefold()
            if not policy_id:
                continue
            agg.policy_names.setdefault(policy_id, _text(applied.get("displayName")) or policy_id)
            agg.policy_failures.setdefault(policy_id, SignInGroup()).add(user_id, app_key, created)
            strength = applied.get("authenticationStrength")
            if isinstance(strength, dict) and (strength.get("authenticationStrengthId") or strength.get("displayName")):
                agg.strength_failures.setdefault(policy_id, SignInGroup()).add(user_id, app_key, created)
                agg.strength_names.setdefault(policy_id, _text(strength.get("displayName")) or
                                              _text(strength.get("authenticationStrengthId")) or "")
    return agg
