"""The base of every Graph model: lenient parsing and case-insensitive enum comparison."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr


def fold(value: Any) -> str:
    """Case-insensitive comparison key for an enum-like string (None → "")."""
    return value.casefold() if isinstance(value, str) else ""


def odata_type(value: str | None) -> str:
    """``#microsoft.graph.basicAuthentication`` / ``microsoft.graph.BasicAuthentication`` → ``basicauthentication``."""
    return fold(value).lstrip("#").removeprefix("microsoft.graph.")


class GraphObject(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    # strict: a number or object here is not what Graph returns (rules compare the type name)
    odata_type_raw: StrictStr | None = Field(default=None, alias="@odata.type")

    @property
    def type_name(self) -> str:
        return odata_type(self.odata_type_raw)
