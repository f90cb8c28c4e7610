"""Errors as RFC 9457 problem details (``application/problem+json``).

``install(app)`` turns the project's error tree, FastAPI's request validation errors and HTTP
errors into problems with ``type``, ``title``, ``status`` and ``detail``. Which errors show
their own message is decided per class: messages of client mistakes (a malformed signal, a
taken email) help the caller and carry no secrets by the error tree's rule; server-side failures
get a fixed sentence, so no internals (SQL, hosts, stack traces) ever leave the process.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from boltztrader import errors
from boltztrader.db.orders import VersionConflict
from boltztrader.domain.signals import InvalidSignal

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
# Problem types are URNs: stable names to branch on, not pages to fetch (RFC 9457, section 3.1.1).
TYPE_PREFIX = "urn:boltztrader:problem:"
BLANK = "about:blank"
BEARER_CHALLENGE = "Bearer"


@dataclass(frozen=True, slots=True)
class Kind:
    """How one class of error is shown: status, type slug, title, and the detail if not its message."""

    status: int
    slug: str
    title: str
    fixed_detail: str | None = None  # None: the error's own message is the detail

    @property
    def type(self) -> str:
        return TYPE_PREFIX + self.slug


UNEXPECTED = Kind(500, "internal", "Internal error",
                  "The service failed to handle this request; the failure is logged.")

# Looked up along the error's class hierarchy, so a subclass inherits its parent's kind.
KINDS: Mapping[type[BaseException], Kind] = {
    errors.AuthError: Kind(401, "unauthenticated", "Authentication required"),
    errors.Forbidden: Kind(403, "forbidden", "Forbidden"),
    errors.NotFound: Kind(404, "not-found", "Not found"),
    errors.OrderNotFound: Kind(404, "order-not-found", "Order not found"),
    errors.AccountNotFound: Kind(404, "account-not-found", "Account not found"),
    errors.InvalidLoginState: Kind(400, "invalid-login-state", "Login not recognised"),
    errors.AlreadyExists: Kind(409, "already-exists", "Already exists"),
    errors.AccountConflict: Kind(409, "account-conflict", "Account already linked"),
    errors.SignalConflict: Kind(409, "signal-conflict", "Signal id reused with different content"),
    errors.InvalidTransition: Kind(409, "invalid-transition", "Not allowed in the order's status"),
    VersionConflict: Kind(409, "version-conflict", "Changed meanwhile", "The order changed meanwhile; "
                          "read it again and retry."),
    errors.InvalidInput: Kind(422, "invalid-input", "Invalid input"),
    errors.InvalidAccountLink: Kind(422, "invalid-account-link", "Invalid account details"),
    InvalidSignal: Kind(422, "invalid-signal", "Invalid signal"),
    errors.AccountError: Kind(422, "account-error", "Not possible for this account"),
    errors.OrderRejected: Kind(422, "order-rejected", "Order rejected"),
    errors.RiskRejected: Kind(422, "risk-rejected", "Denied by the risk guard"),
    errors.BrokerRejected: Kind(422, "broker-rejected", "Rejected by the broker"),
    errors.DuplicateOrder: Kind(409, "duplicate-order", "The broker holds this order already"),
    errors.RateLimited: Kind(429, "rate-limited", "Rate limited",
                             "The broker asked us to slow down; retry after the time given."),
    errors.BrokerAuthError: Kind(502, "broker-auth", "Broker refused the account's credentials",
                                 "The broker refused this account's credentials; the account needs a "
                                 "human to log in again."),
    errors.BrokerProtocolError: Kind(502, "broker-protocol", "Unexpected broker response",
                                     "The broker's answer did not match its protocol; nothing is assumed."),
    errors.PaperBrokerError: Kind(502, "paper-broker", "Paper broker error",
                                  "The paper broker did not answer as expected."),
    errors.BrokerUnavailable: Kind(503, "broker-unavailable", "Broker unavailable",
                                   "The broker is unavailable; nothing was sent. Retry later."),
    errors.DatabaseUnavailable: Kind(503, "database-unavailable", "Service unavailable",
                                     "The service cannot reach its database; no work was taken."),
    errors.OutcomeUnknown: Kind(504, "outcome-unknown", "Outcome unknown",
                                "The broker did not confirm in time; the order will be looked up. "
                                "Do not resend."),
    errors.ConfigError: Kind(500, "configuration", "Service misconfigured",
                             "The service is not configured to do this."),
    errors.CredentialError: Kind(500, "credential", "Stored credential unreadable",
                                 "A stored credential could not be opened; an operator must look at it."),
    errors.LedgerIntegrityError: Kind(500, "ledger-integrity", "Audit ledger does not verify",
                                      "The audit ledger failed verification; an operator must look at it."),
    errors.TradingError: UNEXPECTED,
}

# Fields of pydantic's error entries that are safe to return: never "input" or "ctx", which
# may hold the submitted values (a password, a token, an API secret).
_VALIDATION_FIELDS = ("loc", "msg", "type")


def kind_of(exc: BaseException) -> Kind:
    """The most specific kind registered for the error's class, or UNEXPECTED."""
    for cls in type(exc).__mro__:
        if cls in KINDS:
            return KINDS[cls]
    return UNEXPECTED


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem(status: int, title: str | None = None, detail: str | None = None, *, type_: str = BLANK,
            headers: Mapping[str, str] | None = None, **extensions: Any) -> JSONResponse:
    """A problem+json response; ``title`` defaults to the status's reason phrase."""
    body: dict[str, Any] = {"type": type_, "title": title or _phrase(status), "status": status}
    if detail:
        body["detail"] = detail
    body.update(extensions)
    return JSONResponse(body, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_JSON)


def problem_for(exc: errors.TradingError) -> JSONResponse:
    """The problem response for one of our errors."""
    kind = kind_of(exc)
    detail = kind.fixed_detail if kind.fixed_detail is not None else str(exc)
    return problem(kind.status, kind.title, detail, type_=kind.type, headers=_headers(exc, kind),
                   **_extensions(exc))


def _headers(exc: errors.TradingError, kind: Kind) -> dict[str, str]:
    if kind.status == 401:
        return {"WWW-Authenticate": BEARER_CHALLENGE}
    if isinstance(exc, errors.RateLimited):
        # Whole seconds, rounded up: Retry-After takes no fractions, and early retries are refused.
        wait = exc.retry_after if exc.retry_after is not None and exc.retry_after > 0 else 1
        return {"Retry-After": str(max(1, math.ceil(wait)))}
    return {}


def _extensions(exc: errors.TradingError) -> dict[str, Any]:
    if isinstance(exc, errors.RiskRejected):
        return {"reasons": list(exc.reasons)}
    if isinstance(exc, errors.BrokerRejected):
        return {"broker": exc.broker, "code": None if exc.code is None else str(exc.code)}
    if isinstance(exc, InvalidSignal | errors.InvalidInput | errors.InvalidAccountLink) and exc.field:
        return {"field": exc.field}
    return {}


async def _trading_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.TradingError)
    kind = kind_of(exc)
    if kind.status >= 500:
        log.error("%s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc)
    return problem_for(exc)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    found = [{key: entry[key] for key in _VALIDATION_FIELDS if key in entry} for entry in exc.errors()]
    return problem(422, "Invalid request", "The request does not match the expected shape; see errors.",
                   type_=TYPE_PREFIX + "invalid-request", errors=found)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != _phrase(exc.status_code) else None
    return problem(exc.status_code, detail=detail, headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path,
              exc_info=exc)
    return problem(UNEXPECTED.status, UNEXPECTED.title, UNEXPECTED.fixed_detail, type_=UNEXPECTED.type)


def install(app: FastAPI) -> None:
    """Make every error of ``app`` answer as a problem; call once, in the app factory."""
    app.add_exception_handler(errors.TradingError, _trading_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
