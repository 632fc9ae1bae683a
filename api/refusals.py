"""What the service refuses and how a refusal is told: the errors the routes and the form answer (no
model, no store, unknown applicant), the message a refused call is logged with, the `with` block that
logs it once, and absolute paths cut before a message leaves the process."""

from __future__ import annotations

import re
from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol


class RefusalSink(Protocol):
    """What `RefusalLog` needs of the service: `ScoringService.log_refusal`."""

    def log_refusal(self, *, request_id: str, input: dict[str, Any], started: float, error: str,
                    client: str | None = None, source: str | None = None) -> None: ...


class ModelUnavailable(RuntimeError):
    """No model is loaded; the message says why and what to do."""


class StoreUnavailable(RuntimeError):
    """No feature store is open (dossiers answer 503); the message says why."""


class UnknownApplicant(LookupError):
    """No stored applicant has this number (404)."""

    def __init__(self, applicant_id: int):
        self.applicant_id = applicant_id
        super().__init__(f"no applicant {applicant_id} in the feature store")


_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/(?:[^\s'\"/:,;()]+/)*([^\s'\"/:,;()]+)")


def shown_path(text: str | None) -> str | None:
    """A message fit for a response: every absolute path cut to its last two parts ("…/logs/x.log")."""
    if text is None:
        return None

    def cut(m: re.Match[str]) -> str:
        parts = m.group(0).rstrip("/").split("/")
        return "…/" + "/".join(parts[-2:]) if len(parts) > 2 else m.group(0)

    return _ABSOLUTE_PATH.sub(cut, text)


def refusal_message(exc: BaseException) -> str:
    """What the log says of a call that raised: the refusal's own words (bad input, no model), or the
    type and text of an unexpected error."""
    if isinstance(exc, ValueError | ModelUnavailable | LookupError | StoreUnavailable):
        return str(exc)
    return f"internal error: {type(exc).__name__}: {exc}"


class RefusalLog:
    """`with service.refusals(...)`: when the block raises, the call is logged once as refused (input as
    sent, `status="error"`), then the exception goes on to the caller, which answers it (422, 503, a
    French message in the form). The one place where the API and the form log refusals."""

    __slots__ = ("service", "request_id", "started", "input", "client", "source")

    def __init__(self, service: RefusalSink, request_id: str, started: float, input: Callable[[], dict[str, Any]],
                 client: str | None, source: str | None):
        self.service, self.request_id, self.started = service, request_id, started
        self.input, self.client, self.source = input, client, source

    def __enter__(self) -> RefusalLog:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> bool:
        if isinstance(exc, Exception):
            self.service.log_refusal(request_id=self.request_id, input=self.input(), started=self.started,
                                     error=refusal_message(exc), client=self.client, source=self.source)
        return False
