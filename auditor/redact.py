"""Keep secrets out of everything flowaudit writes.

API connector URLs often carry their credential in the query (a Logic App SAS ``sig``, a Function
``code``); Graph returns write-only secrets as ``******``. Every string that reaches a finding is
passed through :func:`scrub` so no renderer ever sees the secret.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

REDACTED = "REDACTED"

# CON005: query parameter names that carry a secret.
SECRET_PARAMS = frozenset({"sig", "code", "key", "api-key", "apikey", "token", "secret", "password"})
# Redaction is broader than detection: any parameter whose name suggests a credential.
_REDACT_NAME = re.compile(r"sig|code|key|token|secret|password|passwd|pwd|auth|credential", re.IGNORECASE)
# No word boundary before the scheme: a URL glued to other text ("…c1dhttps://…?sig=…") is still one.
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+")
_PARAM = re.compile(r"([?&;])([^=&;#]+)=([^&;#]*)")
_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)([^/@]*)@")
_MASK = re.compile(r"^\*{3,}$")
# json.loads keeps a lone UTF-16 surrogate ("\ud800") as is; no UTF-8 output can carry it.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def secret_params(url: str | None) -> list[str]:
    """Names of query parameters in ``url`` that carry a secret (CON005)."""
    if not url:
        return []
    try:
        query = urlsplit(url).query
    except ValueError:
        return []
    return sorted({name for name, _ in parse_qsl(query, keep_blank_values=True)
                   if name.casefold() in SECRET_PARAMS})


def redact_url(url: str) -> str:
    """Replace secret-looking query values and URL passwords with REDACTED."""
    def _param(match: re.Match[str]) -> str:
        sep, name, value = match.groups()
        if value and (_REDACT_NAME.search(name) or name.casefold() in SECRET_PARAMS):
            return f"{sep}{name}={REDACTED}"
        return match.group(0)

    redacted = _PARAM.sub(_param, url)
    return _USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@" if ":" in m.group(2) else m.group(0), redacted)


def redact_text(text: str) -> str:
    """URL secrets redacted, lone surrogates replaced by U+FFFD (so every output can encode it)."""
    text = _LONE_SURROGATE.sub("\ufffd", text)
    return _URL.sub(lambda m: redact_url(m.group(0)), text) if "://" in text else text


def scrub(value: Any) -> Any:
    """Recursively redact URL secrets in strings (keys too) and drop Graph's ``******`` placeholders."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {redact_text(str(k)): scrub(v) for k, v in value.items()
                if not (isinstance(v, str) and _MASK.match(v))}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    return value
