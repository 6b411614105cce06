"""The fix plan format (docs/plan-format.md): typed, validated on load, written deterministically.

A plan is an executable document that a change board reads and a person edits (to supply the
inputs a change needs), so loading is strict: unknown keys are an error naming where they are,
every request must go to the plan's Graph root, and the two promises the generator keeps are
enforced again on load — a new Conditional Access policy is created report-only, and no user is
ever deleted — so a hand-edited plan cannot smuggle in what a generated one never contains.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from auditor.errors import InputError
from auditor.validation import describe_validation

PLAN_FORMAT: Final = "flowaudit-plan"
PLAN_VERSION: Final = 1
REPORT_ONLY: Final = "enabledForReportingButNotEnforced"

Method = Literal["GET", "PATCH", "POST", "DELETE"]
NeedKind = Literal["httpsUrl", "pkcs12File", "envVar", "confirm", "choice", "appIds"]
CheckOp = Literal["equals", "notEquals", "urlEquals", "typeIs", "exists", "notFound", "noneMatch", "idsEqual"]
# {step:<step id>:<JSON pointer>} inside a URL: a value from an earlier step's response (an id Graph assigned).
STEP_TOKEN = re.compile(r"\{step:([A-Za-z0-9_-]+):(/[^{}]*)\}")
_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


class _Strict(BaseModel):
    # A plan is executed: a misspelt key is a mistake to report, never something to ignore.
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Tool(_Strict):
    name: str = "flowaudit"
    version: str = "unknown"


class SourceFile(_Strict):
    path: str
    generatedAt: str | None = None
    collectedAt: str | None = None


class PlanSource(_Strict):
    result: SourceFile | None = None
    snapshot: SourceFile | None = None
    plan: SourceFile | None = None  # a rollback plan: the plan it undoes
    appliedAt: str | None = None


class ResourceRef(_Strict):
    type: str
    id: str
    displayName: str | None = None


class FindingLink(_Strict):
    """The finding a change fixes (several findings can share one change, e.g. one tenant switch)."""

    fingerprint: str
    ruleId: str
    resource: ResourceRef


class Choice(_Strict):
    value: str
    label: str


class Need(_Strict):
    """An input a person supplies in ``inputs`` before the change can run."""

    name: str
    kind: NeedKind
    prompt: str
    choices: list[Choice] = Field(default_factory=list)  # kind "choice"
    allowEmpty: bool = False  # kind "envVar": an empty value is valid (a PKCS#12 without password)
    passwordNeed: str | None = None  # kind "pkcs12File": the need naming its password's variable

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _IDENT.match(value):
            raise ValueError(f"need name {value!r} must be a simple identifier")
        return value


class When(_Strict):
    """Run a step (or a check) only for one value of an input (APP001: which listener to keep)."""

    input: str
    equals: str | None = None
    notEquals: str | None = None

    def holds(self, inputs: dict[str, Any]) -> bool:
        value = inputs.get(self.input)
        if self.equals is not None:
            return bool(value == self.equals)
        if self.notEquals is not None:
            return bool(value != self.notEquals)
        return True


class Request(_Strict):
    method: Method
    url: str
    body: Any = None


class Check(_Strict):
    """One expectation about the live tenant, read with GET ``url``.

    ``pointer`` is a JSON Pointer into the body; ``value`` may hold placeholders (``{"$input": …}``).
    """

    description: str
    url: str
    op: CheckOp
    pointer: str = ""
    value: Any = None
    match: dict[str, Any] = Field(default_factory=dict)  # op noneMatch: fields an item must not all have
    when: When | None = None

    @field_validator("pointer")
    @classmethod
    def _pointer(cls, value: str) -> str:
        if value and not value.startswith("/"):
            raise ValueError(f"pointer {value!r} must be a JSON Pointer starting with '/'")
        return value


class Step(_Strict):
    id: str
    description: str
    request: Request
    permission: str  # the least-privileged ReadWrite (application) permission for the request
    alsoRequires: list[str] = Field(default_factory=list)  # other permissions Microsoft documents with it
    readPermissions: list[str] = Field(default_factory=list)  # for the precondition reads
    precondition: list[Check] = Field(default_factory=list)
    rollback: list[Step] = Field(default_factory=list)
    rollbackNeeds: list[Need] = Field(default_factory=list)  # inputs the rollback needs (write-only secrets)
    rollbackNote: str | None = None  # why there is no (complete) rollback
    when: When | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _IDENT.match(value):
            raise ValueError(f"step id {value!r} must be a simple identifier")
        return value


class Change(_Strict):
    id: str
    ruleId: str
    findings: list[FindingLink]
    summary: str
    automatic: bool  # no input needed: apply runs it as generated
    needs: list[Need] = Field(default_factory=list)
    inputs: dict[str, Any] = Field(default_factory=dict)
    steps: list[Step]
    note: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Change:
        names = [n.name for n in self.needs]
        if len(set(names)) != len(names):
            raise ValueError(f"change {self.id}: a need is listed twice")
        unknown = sorted(set(self.inputs) - set(names))
        if unknown:
            raise ValueError(f"change {self.id}: inputs {', '.join(unknown)} match no need "
                             f"(needs: {', '.join(names) or 'none'})")
        ids = [s.id for s in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError(f"change {self.id}: two steps share an id")
        if not self.steps:
            raise ValueError(f"change {self.id}: no steps")
        return self

    def permissions(self) -> list[str]:
        return sorted({p for s in self.steps for p in (s.permission, *s.alsoRequires)})


class NotPlanned(_Strict):
    fingerprint: str
    ruleId: str
    resource: ResourceRef
    reason: str


class Plan(_Strict):
    format: Literal["flowaudit-plan"] = PLAN_FORMAT
    version: Literal[1] = PLAN_VERSION
    kind: Literal["plan", "rollback"] = "plan"
    tool: Tool = Field(default_factory=Tool)
    generatedAt: str
    tenantId: str
    cloud: str
    graphRoot: str  # the cloud's Graph root every request URL starts with
    source: PlanSource = Field(default_factory=PlanSource)
    changes: list[Change] = Field(default_factory=list)
    notPlanned: list[NotPlanned] = Field(default_factory=list)

    @model_validator(mode="after")
    def _requests_stay_on_graph(self) -> Plan:
        ids = [c.id for c in self.changes]
        if len(set(ids)) != len(ids):
            raise ValueError("two changes share an id")
        for change in self.changes:
            for step in all_steps(change.steps):
                for url in (step.request.url, *(c.url for c in step.precondition)):
                    _check_url(self.graphRoot, url, f"change {change.id}, step {step.id}")
                _check_safe(step.request, f"change {change.id}, step {step.id}")
        return self

    def permissions(self) -> list[str]:
        return sorted({p for c in self.changes for p in c.permissions()})

    def read_permissions(self) -> list[str]:
        return sorted({p for c in self.changes for s in c.steps for p in s.readPermissions})


def all_steps(steps: list[Step]) -> list[Step]:
    out: list[Step] = []
    for step in steps:
        out.append(step)
        out.extend(all_steps(step.rollback))
    return out


def _check_url(root: str, url: str, where: str) -> None:
    # Apply sends the token only to the plan's Graph root (rebased onto --graph-url when given).
    bare = STEP_TOKEN.sub("x", url)
    if not (bare.startswith(f"{root}/v1.0/") or bare.startswith(f"{root}/beta/")):
        raise ValueError(f"{where}: URL {url!r} is not under {root}/v1.0 or {root}/beta")
    parts = urlsplit(bare)
    if parts.username or parts.password or parts.fragment:
        raise ValueError(f"{where}: URL {url!r} carries credentials or a fragment")


def _check_safe(request: Request, where: str) -> None:
    path = urlsplit(STEP_TOKEN.sub("x", request.url)).path.rstrip("/").casefold()
    if request.method == "DELETE" and re.search(r"/(v1\.0|beta)/users/", path):
        raise ValueError(f"{where}: deleting a user is never part of a plan (inactive guests are disabled)")
    if request.method == "POST" and path.endswith("/identity/conditionalaccess/policies"):
        state = request.body.get("state") if isinstance(request.body, dict) else None
        if state != REPORT_ONLY:
            raise ValueError(f"{where}: a new Conditional Access policy must be created with state "
                             f"{REPORT_ONLY!r}, not {state!r}")


def to_json(plan: Plan) -> str:
    data = plan.model_dump(mode="json", exclude_none=True)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def parse_plan(data: Any, label: str) -> Plan:
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        raise InputError(f"{label}: not a flowaudit plan (expected \"format\": \"{PLAN_FORMAT}\")")
    if data.get("version") != PLAN_VERSION:
        raise InputError(f"{label}: unsupported plan version {data.get('version')!r}")
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{label}: invalid plan: {describe_validation(exc)}") from None


def load_plan(path: str | Path) -> Plan:
    """Read and validate a plan file; every failure names the file (exit 2)."""
    from auditor.snapshot.reader import read_json_file

    return parse_plan(read_json_file(Path(path)), str(path))


Step.model_rebuild()
