"""Optional access control, off by default (the README's commands and the public Space stay open).

One policy for every door (docs/security.md): access control is on as soon as `API_TOKENS` or
`FORM_USERS` is set, and then every route that shows or changes applicant data, or describes the
model, needs an identity; only `/health`, the form's page and its static files stay open.

- `API_TOKENS="name1:token1,name2:token2"` (or `API_TOKENS_FILE`, one `name:token` a line):
  `Authorization: Bearer <token>`; the identity is the token's *name* (logged as `client`, never the token).
- `FORM_USERS="user1:password1,user2:password2"` (or `FORM_USERS_FILE`): Gradio's own login page
  protects the form and its events (the identity is the user name); programs may send the same
  credentials to the JSON API as `Authorization: Basic`.
"""

from __future__ import annotations

import base64
import binascii
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


class Access:
    """The access policy of every door: who a request's `Authorization` header names, if anyone.

    `enabled` when tokens or form users are configured; `identify` accepts `Bearer <token>` (API_TOKENS)
    and `Basic <user:password>` (FORM_USERS), comparing secrets in constant time."""

    def __init__(self, tokens: dict[str, str] | None = None, users: list[tuple[str, str]] | None = None):
        self.tokens = TokenChecker(tokens or {})
        self.form_users = list(users or [])
        self._users = [(name.encode(), secret.encode()) for name, secret in self.form_users]

    @classmethod
    def from_env(cls) -> Access:
        return cls(api_tokens(), form_users())

    @property
    def enabled(self) -> bool:
        return bool(self.tokens) or bool(self._users)

    @property
    def form_login(self) -> bool:
        """Gradio's login page guards the form's own routes (its events, /config, /gradio_api/info)."""
        return bool(self._users)

    def identify(self, authorization: bytes | str | None) -> str | None:
        if isinstance(authorization, str):
            authorization = authorization.encode("latin-1", "replace")
        if not authorization:
            return None
        if authorization[:6].lower() == b"basic ":
            return self._basic(authorization[6:].strip())
        return self.tokens.client(authorization)

    def _basic(self, encoded: bytes) -> str | None:
        try:
            user, sep, password = base64.b64decode(encoded, validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return None
        found = None
        for name, secret in self._users:  # every pair compared: the time does not tell which matched
            if hmac.compare_digest(user, name) & hmac.compare_digest(password, secret) and sep:
                found = name.decode()
        return found
