"""Errors as RFC 9457 problem details: one table from error class to HTTP status.

Every error the API returns is `application/problem+json` with `type`, `title`,
`status`, `detail`, a stable `code` and the `params` behind it (amounts in fen). The
`type` URI resolves: GET /problems/{code} describes the problem.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from creditline.domain import errors
from creditline.domain.errors import CreditlineError, RiskRefusal
from creditline.domain.risk.explain import DEFAULT_LANGUAGE, choose_language
from creditline.entrypoints.api.risk_schemas import reason
from creditline.service.ports import StoreUnavailable

PROBLEM_MEDIA_TYPE = "application/problem+json"

STATUS_BY_ERROR: Mapping[type[CreditlineError], int] = {
    errors.NotFound: 404,
    errors.Forbidden: 403,
    errors.InvalidRequest: 422,
    errors.Declined: 402,
    errors.Conflict: 409,
    errors.AmountExceeded: 422,
}
"""The one table from a refusal to its HTTP status (the nearest listed base class wins)."""


def status_for(error: CreditlineError | type[CreditlineError]) -> int:
    kind = error if isinstance(error, type) else type(error)
    for cls in kind.__mro__:
        status = STATUS_BY_ERROR.get(cls)
        if status is not None:
            return status
    raise AssertionError(f"no HTTP status for {type(error).__name__}")


def title_for(code: str) -> str:
    return code.replace("_", " ").capitalize()


def problem(
    status: int,
    code: str,
    detail: str,
    params: Mapping[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title_for(code),
        "status": status,
        "detail": detail,
        "code": code,
        "params": dict(params or {}),
    }
    body.update(extra)
    return body


def problem_response(body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        content=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
        status_code=int(body["status"]),
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def error_body(error: CreditlineError, language: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
    """The problem document; a risk refusal adds every enforced reason for the consumer
    (message and remedy in `language`) and the numbers for the platform."""
    if not isinstance(error, RiskRefusal):
        return problem(status_for(error), error.code, error.detail, error.params)
    reasons = [reason(hit, language).model_dump() for hit in error.decision.enforced]
    first = reason(error.decision.deciding[0], language) if error.decision.deciding else None
    return problem(
        status_for(error),
        error.code,
        error.detail,
        error.params,
        language=language,
        message=None if first is None else first.message,
        remedy=None if first is None else first.remedy,
        reasons=reasons,
        decision_id=error.decision_id,
        challenge_id=error.challenge_id,
        policy_version=error.decision.policy_version,
    )


def language_of(request: Request) -> str:
    return choose_language(request.headers.get("accept-language"))


def _field_name(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def validation_body(exc: RequestValidationError) -> dict[str, Any]:
    problems = [
        {"field": _field_name(tuple(e.get("loc", ()))), "message": str(e.get("msg", "invalid"))}
        for e in exc.errors()
    ]
    detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return problem(422, "validation_error", detail, errors=problems)


def install(app: FastAPI) -> None:
    @app.exception_handler(CreditlineError)
    async def _refusal(request: Request, exc: CreditlineError) -> Response:
        return problem_response(error_body(exc, language_of(request)))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> Response:
        return problem_response(validation_body(exc))

    @app.exception_handler(OperationalError)
    @app.exception_handler(StoreUnavailable)
    async def _busy(_request: Request, _exc: Exception) -> Response:
        # A lock or statement timeout: the transaction was rolled back, nothing changed.
        body = problem(
            503,
            "service_unavailable",
            "the account is busy or the database is unavailable; retry with the "
            "same Idempotency-Key",
        )
        return problem_response(body, headers={"Retry-After": "1"})

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        code = getattr(exc, "code", None) or {
            401: "unauthorized",
            404: "not_found",
            405: "method_not_allowed",
        }.get(exc.status_code, f"http_{exc.status_code}")
        return problem_response(
            problem(exc.status_code, code, str(exc.detail)), headers=exc.headers
        )


class ApiProblem(StarletteHTTPException):
    """An HTTP-level problem raised by the API shell itself (authentication, headers)."""

    def __init__(
        self, status: int, code: str, detail: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(status_code=status, detail=detail, headers=dict(headers or {}))
        self.code = code


def catalogue() -> dict[str, dict[str, Any]]:
    """Every stable code with its status and meaning, for GET /problems."""
    found: dict[str, dict[str, Any]] = {}
    pending: list[type[CreditlineError]] = [CreditlineError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.code == CreditlineError.code or cls.code in found:
            continue
        status = next(STATUS_BY_ERROR[c] for c in cls.__mro__ if c in STATUS_BY_ERROR)
        found[cls.code] = {
            "code": cls.code,
            "status": status,
            "title": title_for(cls.code),
            "meaning": (cls.__doc__ or cls.__mro__[1].__doc__ or "").strip(),
        }
    for code, status, meaning in (
        ("validation_error", 422, "A field is missing or malformed; `errors` names each field."),
        ("unauthorized", 401, "The API key is missing, unknown or revoked."),
        ("idempotency_key_required", 400, "Every POST needs an Idempotency-Key header."),
        ("service_unavailable", 503, "The database was busy; retry with the same key."),
    ):
        found[code] = {"code": code, "status": status, "title": title_for(code), "meaning": meaning}
    return dict(sorted(found.items()))
