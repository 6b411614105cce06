"""Conditional Access judged the way Entra evaluates it, for the guests of self-service sign-up.

Pure functions over the model (no I/O). The public API:

- :class:`Directory` (``Directory.from_tenant(tenant)``): named locations, CA groups with members,
  cross-tenant inbound trust, authentication strengths, current guests' kinds; ``None`` for a source
  that was not collected.
- :class:`Audience` ``(kind, user_id=None)``: a guest of a kind who signs up from now on, or one
  current guest.
- :class:`Evaluator` ``(policies, directory)``: ``.contexts`` (the sign-in matrix), ``.policies``
  (:class:`PolicyFacts`, precomputed per policy), ``.cell(app_id, audience, report_only=False,
  what_if=None)`` → :class:`Cell` with ``state(i)`` (yes/no/unknown), ``decisions(i)``,
  ``protecting(i)``, ``undecided(i)``, ``engine(i)`` and the What-If ``disagreements``.
- :func:`grant_verdict` (grant → :class:`GrantVerdict`), the condition functions in :mod:`.conditions`,
  :class:`WhatIfIndex` (What-If records by matrix cell), and the words of :mod:`.describe`.
"""

from auditor.conditional_access.conditions import (
    UNKNOWN_APP,
    device_rule_matches_unregistered,
    rule_contains_every_guest,
)
from auditor.conditional_access.directory import Audience, CrossTenantTrust, Directory
from auditor.conditional_access.evaluator import (
    STATIC,
    WHAT_IF,
    Cell,
    Decision,
    Evaluator,
    PolicyFacts,
    current_guest_audiences,
)
from auditor.conditional_access.grant import GrantVerdict, grant_verdict
from auditor.conditional_access.verdict import Reason, Tri, Verdict
from auditor.conditional_access.whatif import WhatIfIndex

__all__ = [
    "STATIC", "UNKNOWN_APP", "WHAT_IF", "Audience", "Cell", "CrossTenantTrust", "Decision", "Directory", "Evaluator",
    "GrantVerdict", "PolicyFacts", "Reason", "Tri", "Verdict", "WhatIfIndex", "current_guest_audiences",
    "device_rule_matches_unregistered", "grant_verdict", "rule_contains_every_guest",
]
