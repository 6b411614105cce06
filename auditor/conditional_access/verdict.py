"""Three-valued answers with their reasons: yes, no, or unknown — and unknown never counts as protection.

Every ``no`` says what excludes (``"only on Android and iOS"``), every ``unknown`` says what could not
be judged (``"group Partners: membership rule cannot be proven to contain every guest"``), so a finding
can name the condition and the policy behind each gap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum


class Tri(Enum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Reason:
    condition: str  # users, applications, clientAppTypes, platforms, locations, risk, devices, ...
    text: str

    def as_dict(self) -> dict[str, str]:
        return {"condition": self.condition, "reason": self.text}


@dataclass(frozen=True)
class Verdict:
    value: Tri
    reasons: tuple[Reason, ...] = ()

    @property
    def yes(self) -> bool:
        return self.value is Tri.YES

    @property
    def no(self) -> bool:
        return self.value is Tri.NO

    @property
    def unknown(self) -> bool:
        return self.value is Tri.UNKNOWN


YES = Verdict(Tri.YES)


# Interned: the same reason is produced for many contexts and policies, and every object kept alive
# for the audit's duration makes the interpreter's full garbage collections longer. A plain dict (an
# lru_cache keeps a linked list of its own), emptied if it ever grows past a bound.
_INTERNED: dict[tuple[Tri, str, str], Verdict] = {}


def _interned(value: Tri, condition: str, text: str) -> Verdict:
    key = (value, condition, text)
    verdict = _INTERNED.get(key)
    if verdict is None:
        if len(_INTERNED) > 20_000:
            _INTERNED.clear()
        verdict = _INTERNED[key] = Verdict(value, (Reason(condition, text),))
    return verdict


def no(condition: str, text: str) -> Verdict:
    return _interned(Tri.NO, condition, text)


def unknown(condition: str, text: str) -> Verdict:
    return _interned(Tri.UNKNOWN, condition, text)


def _reasons(verdicts: Iterable[Verdict]) -> tuple[Reason, ...]:
    seen: dict[Reason, None] = {}
    for verdict in verdicts:
        for reason in verdict.reasons:
            seen.setdefault(reason, None)
    return tuple(seen)


def all_of(*verdicts: Verdict) -> Verdict:
    """Every part must hold (policy conditions are ANDed): no beats unknown beats yes."""
    open_ = [v for v in verdicts if v.value is not Tri.YES]
    if not open_:
        return YES
    if len(open_) == 1:
        return open_[0]  # the one part that does not hold says it all (and no new object is kept)
    nos = [v for v in verdicts if v.no]
    if nos:
        return Verdict(Tri.NO, _reasons(nos))
    unknowns = [v for v in verdicts if v.unknown]
    if unknowns:
        return Verdict(Tri.UNKNOWN, _reasons(unknowns))
    return YES


def any_of(verdicts: Iterable[Verdict], *, none: Verdict) -> Verdict:
    """One part suffices (e.g. included as All users or through a group): yes beats unknown beats no.

    ``none`` is the answer when there is no part at all.
    """
    items = list(verdicts)
    if not items:
        return none
    if any(v.yes for v in items):
        return YES
    unknowns = [v for v in items if v.unknown]
    if unknowns:
        return Verdict(Tri.UNKNOWN, _reasons(unknowns))
    return Verdict(Tri.NO, _reasons(items))
