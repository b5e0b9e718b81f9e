"""Domain errors and the one place that renders every error as application/problem+json."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import orjson
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from parley_common.i18n import request_gettext
from parley_common.logging import request_id_var

PROBLEM_TYPE_BASE = "https://parley.dev/problems/"
PROBLEM_JSON = "application/problem+json"


class DomainError(Exception):
    """An error a client can act on. Subclasses set ``status``, ``code`` and ``title``."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"
    # True for an error that records something (a reused refresh token revokes its family):
    # the one commit point commits the request's changes, then answers the error.
    keeps_changes: ClassVar[bool] = False

    def __init__(
        self, detail: str | None = None, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        self.detail = detail or self.title
        self.headers = headers or {}
        self.extra = extra
        super().__init__(self.detail)


class NotFound(DomainError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(DomainError):
    status, code, title = 409, "conflict", "Conflict"


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "Forbidden"


class Unauthorized(DomainError):
    status, code, title = 401, "unauthorized", "Authentication required"


class TooManyRequests(DomainError):
    status, code, title = 429, "rate_limited", "Too many requests"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


class Overloaded(DomainError):
    """The service cannot answer within its latency budget now (admission control)."""

    status, code, title = 503, "overloaded", "Service overloaded"

    def __init__(self, detail: str | None = None, retry_after: int = 1) -> None:
        super().__init__(
            detail or "Too much load right now; retry after the given seconds.",
            headers={"Retry-After": str(retry_after)},
        )


class PayloadTooLarge(DomainError):
    status, code, title = 413, "payload_too_large", "Payload too large"


class InvalidInput(DomainError):
    status, code, title = 422, "invalid_input", "Invalid input"


def problem(
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": request_gettext(title),  # in the request's Accept-Language where known
        "status": status,
        "detail": detail or title,
        "code": code,
    }
    request_id = request_id_var.get()
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    return Response(
        orjson.dumps(body),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_JSON,
    )


HTTP_CODES = {
    400: ("bad_request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    413: ("payload_too_large", "Payload too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    422: ("validation_error", "Invalid request"),
    429: ("rate_limited", "Too many requests"),
    502: ("upstream_unavailable", "Service unavailable"),
    503: ("unavailable", "Service unavailable"),
    504: ("upstream_timeout", "Service timed out"),
}


async def _domain_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return problem(exc.status, exc.code, exc.title, exc.detail, exc.headers, **exc.extra)


async def _pool_timeout(_: Request, exc: Exception) -> Response:
    # No pooled database connection within the pool's timeout: refused, nothing was written.
    err = Overloaded()
    return problem(err.status, err.code, err.title, err.detail, err.headers)


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code, title = HTTP_CODES.get(exc.status_code, ("http_error", "HTTP error"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    return problem(exc.status_code, code, title, detail, dict(exc.headers or {}))


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "code": e.get("type", "")}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid"}
    where = ".".join(str(p) for p in first["loc"] if p != "body") or "request"
    return problem(
        422, "validation_error", "Invalid request", f"{where}: {first['msg']}", errors=errors
    )


def internal_error() -> Response:
    """The 500 a client sees: a request id to quote, nothing of our internals."""
    return problem(
        500,
        "internal_error",
        "Internal server error",
        "Something went wrong on our side; quote the request id when reporting it.",
    )


# Retry-After of a refusal while a dependency is unreachable (a restart takes seconds).
UNAVAILABLE_RETRY_AFTER = 2


def dependency_unavailable(exc: BaseException) -> bool:
    """Whether an error means PostgreSQL or Redis could not be reached: down, restarting, at
    its connection limit, or the connection cut (checked along the chain of causes SQLAlchemy
    and asyncpg wrap)."""
    import asyncpg
    import redis.exceptions
    import sqlalchemy.exc

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, sqlalchemy.exc.DBAPIError) and seen.connection_invalidated:
            return True
        if isinstance(
            seen,
            ConnectionError  # refused, reset: the server is not there
            | asyncpg.PostgresConnectionError
            | asyncpg.exceptions.OperatorInterventionError
            | asyncpg.exceptions.TooManyConnectionsError  # a shared server at its limit
            | redis.exceptions.ConnectionError
            | redis.exceptions.TimeoutError,
        ):
            return True
        if isinstance(seen, asyncpg.InterfaceError) and "connection is closed" in str(seen):
            return True
        # A connection whose backend was terminated mid-use can fail its next statement with
        # asyncpg's protocol state error instead of "connection is closed" (seen in make chaos
        # and in test_a_cut_database_connection_is_replaced_not_handed_out_again).
        if isinstance(seen, asyncpg.exceptions.InternalClientError) and (
            "another operation" in str(seen)
        ):
            return True
        seen = seen.__cause__ or getattr(seen, "orig", None)
    return False


def unavailable() -> Response:
    """The 503 a client sees while a dependency is down: nothing was changed, retry later."""
    return problem(
        503,
        "unavailable",
        "Service unavailable",
        "A service this request needs is unreachable right now; retry after the given seconds.",
        {"Retry-After": str(UNAVAILABLE_RETRY_AFTER)},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(sqlalchemy.exc.TimeoutError, _pool_timeout)


# What ``problem()`` sends, as the one schema every error response of the OpenAPI refers to.
PROBLEM_SCHEMAS: dict[str, Any] = {
    "Problem": {
        "title": "Problem",
        "description": "An error (RFC 9457). `code` is stable: branch on it, not on `title`.",
        "type": "object",
        "properties": {
            "type": {"type": "string", "description": PROBLEM_TYPE_BASE + "<code>"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "code": {"type": "string"},
            "request_id": {
                "type": "string",
                "description": "Quote it when reporting a problem (also `X-Request-ID`).",
            },
            "errors": {
                "type": "array",
                "description": "Validation errors (422 `validation_error` only).",
                "items": {"$ref": "#/components/schemas/ProblemFieldError"},
            },
        },
        "required": ["type", "title", "status", "detail", "code"],
    },
    "ProblemFieldError": {
        "title": "ProblemFieldError",
        "type": "object",
        "properties": {
            "loc": {
                "type": "array",
                "description": "Where: `body`, `query`, `path` or `header`, then the field.",
                "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            },
            "msg": {"type": "string"},
            "code": {"type": "string", "description": "e.g. `missing`, `string_too_short`"},
        },
        "required": ["loc", "msg", "code"],
    },
}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {"content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}}


def responses(*errors: type[DomainError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for the domain errors an endpoint can raise."""
    out: dict[int | str, dict[str, Any]] = {}
    for err in errors:
        entry = out.setdefault(err.status, {"description": "", **PROBLEM_SCHEMA})
        entry["description"] = ", ".join(filter(None, [entry["description"], err.code]))
    return out


_DEPENDENCY_ERRORS: dict[Callable[..., Any], tuple[type[DomainError], ...]] = {}
F = TypeVar("F", bound=Callable[..., Any])


def raises(*errors: type[DomainError]) -> Callable[[F], F]:
    """Mark a FastAPI dependency with the errors it raises: every route using it documents them."""

    def mark(func: F) -> F:
        _DEPENDENCY_ERRORS[func] = errors
        return func

    return mark


def dependency_errors(func: Callable[..., Any]) -> tuple[type[DomainError], ...]:
    return _DEPENDENCY_ERRORS.get(func, ())
