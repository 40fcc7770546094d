"""Errors as RFC 9457 problem details: one table from error class to HTTP status, one
catalogue of every code the API can answer.

Every error the API returns is `application/problem+json` with `type`, `title`,
`status`, `detail`, a stable `code` and the `params` behind it (amounts in fen). Codes
come from two places only: the domain's refusals (`domain/errors.py`, mapped to a status
by `STATUS_BY_ERROR`) and the HTTP shell's own problems (`SHELL_PROBLEMS`: a missing key,
a body too large, a path that does not exist…). `catalogue()` lists both, so every
`type` link resolves: GET /problems/{code} describes it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from creditline.domain import errors
from creditline.domain.errors import CreditlineError, RiskRefusal
from creditline.domain.risk.explain import DEFAULT_LANGUAGE, choose_language, explain_refusal
from creditline.entrypoints.api.risk_schemas import reason

PROBLEM_MEDIA_TYPE = "application/problem+json"
CONTENT_LANGUAGE = "Content-Language"

STATUS_BY_ERROR: Mapping[type[CreditlineError], int] = {
    errors.NotFound: 404,
    errors.Forbidden: 403,
    errors.InvalidRequest: 422,
    errors.Declined: 402,
    errors.Conflict: 409,
    errors.AmountExceeded: 422,
}
"""The one table from a refusal to its HTTP status (the nearest listed base class wins)."""

SHELL_PROBLEMS: Mapping[str, tuple[int, str]] = {
    "bad_request": (400, "The request could not be read, e.g. its body is not UTF-8 text."),
    "idempotency_key_required": (
        400,
        "Every POST that changes something needs an Idempotency-Key header.",
    ),
    "idempotency_key_invalid": (400, "The Idempotency-Key must be 1–255 printable characters."),
    "unauthorized": (401, "The API key is missing, unknown or revoked."),
    "not_found": (404, "There is no such path, or no such problem code."),
    "method_not_allowed": (
        405,
        "The path exists, but not with this method; the `Allow` header lists the methods it has.",
    ),
    "payload_too_large": (
        413,
        "The request body is larger than the server accepts "
        "(CREDITLINE_REQUEST_BODY_MAX_BYTES); split it.",
    ),
    "unsupported_media_type": (415, "Bodies are JSON: send Content-Type: application/json."),
    "validation_error": (422, "A field is missing or malformed; `errors` names each field."),
    "internal_error": (
        500,
        "An unexpected error; nothing it had not committed was kept, "
        "so the request may be retried. It is logged with its incident id.",
    ),
    "service_unavailable": (
        503,
        "The database was busy or unreachable; nothing changed. "
        "Retry with the same Idempotency-Key.",
    ),
    "http_error": (400, "Another HTTP-level error; `status` and `detail` say which."),
}
"""The HTTP shell's own problems: code → (status, meaning)."""

SHELL_CODE_BY_STATUS: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    500: "internal_error",
    503: "service_unavailable",
}


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


def error_body(
    error: CreditlineError, language: str = DEFAULT_LANGUAGE, *, detail: bool = True
) -> dict[str, Any]:
    """The problem document; a risk refusal adds every enforced reason for the consumer
    (message and remedy in `language`) and, when the caller may see them (`detail`:
    `access.sees_risk_detail`), the numbers behind the rules."""
    if not isinstance(error, RiskRefusal):
        words = explain_refusal(error.code, error.params, language)
        if words is None:
            return problem(status_for(error), error.code, error.detail, error.params)
        return problem(
            status_for(error),
            error.code,
            error.detail,
            error.params,
            language=language,
            message=words.message,
            remedy=words.remedy,
        )
    decision = error.decision
    reasons = [reason(hit, language, detail=detail).model_dump() for hit in decision.enforced]
    first = reason(decision.deciding[0], language, detail=detail) if decision.deciding else None
    return problem(
        status_for(error),
        error.code,
        error.detail if detail else error.brief,
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


class ApiProblem(StarletteHTTPException):
    """An HTTP-level problem raised by the API shell itself (authentication, headers)."""

    def __init__(
        self, status: int, code: str, detail: str, headers: Mapping[str, str] | None = None
    ) -> None:
        assert SHELL_PROBLEMS[code][0] == status, (code, status)
        super().__init__(status_code=status, detail=detail, headers=dict(headers or {}))
        self.code = code


def shell_problem(
    code: str, detail: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> Response:
    """A response for one of the shell's own problems (its status from the table)."""
    status = SHELL_PROBLEMS[code][0]
    return problem_response(problem(status, code, detail, **extra), headers)


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
    for code, (status, meaning) in SHELL_PROBLEMS.items():
        found[code] = {"code": code, "status": status, "title": title_for(code), "meaning": meaning}
    return dict(sorted(found.items()))
