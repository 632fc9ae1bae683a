"""Optional access control, off by default (the README's commands and the public Space stay open).

- `API_TOKENS="name1:token1,name2:token2"` (or `API_TOKENS_FILE`, one `name:token` a line): then
  `/api/*` and `/model/info` need `Authorization: Bearer <token>` (401 otherwise); `/health`, the
  form and the docs stay open. The log records the token's *name* as `client`, never the token.
- `FORM_USERS="user1:password1,user2:password2"` (or `FORM_USERS_FILE`): Gradio's own login page
  protects the form.
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path


class AuthConfigError(ValueError):
    """A malformed token or user list (the message says which entry, never its secret)."""


def _pairs(text: str, what: str) -> list[tuple[str, str]]:
    out = []
    for i, item in enumerate(x.strip() for x in text.replace("\n", ",").split(",")):
        if not item or item.startswith("#"):
            continue
        name, sep, secret = item.partition(":")
        if not sep or not name.strip() or not secret.strip():
            raise AuthConfigError(f"{what}: entry {i + 1} must be name:secret (got {name.strip() or '?'}:…)")
        out.append((name.strip(), secret.strip()))
    return out


def _read(var: str) -> str:
    file = os.environ.get(f"{var}_FILE")
    if file:
        return Path(file).read_text(encoding="utf-8")
    return os.environ.get(var, "")


def api_tokens() -> dict[str, str]:
    """{token: client name} from `API_TOKENS` / `API_TOKENS_FILE`; empty: no access control."""
    return {token: name for name, token in _pairs(_read("API_TOKENS"), "API_TOKENS")}


def form_users() -> list[tuple[str, str]]:
    """[(user, password)] from `FORM_USERS` / `FORM_USERS_FILE`; empty: the form is open."""
    return _pairs(_read("FORM_USERS"), "FORM_USERS")


class TokenChecker:
    """Maps an `Authorization` header to a client name, comparing tokens in constant time."""

    def __init__(self, tokens: dict[str, str]):
        self._tokens = [(t.encode(), name) for t, name in tokens.items()]

    def __bool__(self) -> bool:
        return bool(self._tokens)

    def client(self, authorization: bytes | None) -> str | None:
        if not authorization or authorization[:7].lower() != b"bearer ":
            return None
        given = authorization[7:].strip()
        found = None
        for token, name in self._tokens:  # every token compared: the time does not tell which matched
            if hmac.compare_digest(given, token):
                found = name
        return found
