"""Every way a request can fail, as a problem document a person can act on.

Refusals from the domain, validation errors (with messages that name the field and say
what is wrong in words — a JSON syntax error by line and column, a missing body by the
fields it needs), the framework's own HTTP errors (404, 405 with an `Allow` header that
lists every method of the path), a busy database (503) and, last, any unexpected error:
a 500 that is still `application/problem+json`, with an incident id that is also in the
log line carrying the traceback.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from creditline.domain.errors import CreditlineError, RiskRefusal
from creditline.entrypoints.api.problems import (
    CONTENT_LANGUAGE,
    SHELL_CODE_BY_STATUS,
    error_body,
    language_of,
    problem,
    problem_response,
    shell_problem,
)
from creditline.entrypoints.logs import get_logger
from creditline.service.ports import StoreUnavailable

log = get_logger("creditline.http")


def _field_name(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _body_model(request: Request) -> type[BaseModel] | None:
    field = getattr(request.scope.get("route"), "body_field", None)
    annotation = getattr(getattr(field, "field_info", None), "annotation", None)
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def _needed_body(request: Request) -> str:
    model = _body_model(request)
    if model is None:
        return "this operation needs a JSON body"
    required = [name for name, f in model.model_fields.items() if f.is_required()]
    fields = ", ".join(required) if required else "an object (every field is optional)"
    return f"this operation needs a JSON object body ({model.__name__}): {fields}; see /docs"


def _json_syntax(error: dict[str, Any], document: Any) -> str:
    position = error["loc"][1] if len(error.get("loc", ())) > 1 else 0
    text = document if isinstance(document, str) else ""
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    reason = error.get("ctx", {}).get("error", "malformed")
    return f"the body is not valid JSON: {reason} at line {line}, column {column}"


def _message(error: dict[str, Any], request: Request, document: Any) -> tuple[str, str]:
    """(field, message) for one validation error, in words."""
    kind = error.get("type")
    location = tuple(error.get("loc", ()))
    if kind == "json_invalid":
        return "body", _json_syntax(error, document)
    if kind == "missing" and location == ("body",):
        return "body", _needed_body(request)
    return _field_name(location), str(error.get("msg", "invalid"))


def validation_response(exc: RequestValidationError, request: Request) -> Response:
    found = exc.errors()
    if any(
        e.get("loc") == ("body",) and isinstance(e.get("input"), bytes | bytearray) for e in found
    ):
        return shell_problem(
            "unsupported_media_type",
            f"the body must be JSON (Content-Type: application/json); {_needed_body(request)}",
        )
    items = [_message(e, request, exc.body) for e in found]
    problems = [{"field": field, "message": message} for field, message in items]
    detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return problem_response(problem(422, "validation_error", detail, errors=problems))


PROBED_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method some route of this path answers (a 405's `Allow`), found by asking
    the router itself: included routers do not list their routes as plain paths."""
    allowed = []
    for method in PROBED_METHODS:
        probe = {key: value for key, value in scope.items() if key != "fastapi"}
        probe["method"] = method
        if any(route.matches(probe)[0] is Match.FULL for route in app.router.routes):
            allowed.append(method)
    return allowed


def _refusal_headers(exc: CreditlineError, language: str) -> dict[str, str]:
    return {CONTENT_LANGUAGE: language} if isinstance(exc, RiskRefusal) else {}


def install(app: FastAPI) -> None:
    @app.exception_handler(CreditlineError)
    async def _refusal(request: Request, exc: CreditlineError) -> Response:
        language = language_of(request)
        return problem_response(error_body(exc, language), _refusal_headers(exc, language))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return validation_response(exc, request)

    @app.exception_handler(OperationalError)
    @app.exception_handler(StoreUnavailable)
    async def _busy(_request: Request, _exc: Exception) -> Response:
        # A lock or statement timeout: the transaction was rolled back, nothing changed.
        return shell_problem(
            "service_unavailable",
            "the account is busy or the database is unavailable; retry with the "
            "same Idempotency-Key",
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = getattr(exc, "code", None) or SHELL_CODE_BY_STATUS.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        detail = str(exc.detail)
        if exc.status_code == 405:
            allow = allowed_methods(app, request.scope)
            headers["Allow"] = ", ".join(allow)
            detail = f"{request.method} is not allowed on this path; it answers {', '.join(allow)}"
        elif exc.status_code == 404 and code == "not_found" and detail == "Not Found":
            detail = f"no such path: {request.scope['path'][:200]} (the API is listed at /docs)"
        elif exc.status_code == 400 and exc.__cause__ is not None:
            detail = f"the body could not be read as UTF-8 JSON text ({exc.__cause__})"
        return problem_response(problem(exc.status_code, code, detail), headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        incident = uuid.uuid4().hex[:16]
        route = getattr(request.scope.get("route"), "path", "unmatched")
        log.error("unexpected_error", incident=incident, route=route, exc_info=exc)
        return shell_problem(
            "internal_error",
            f"an unexpected error stopped this request (incident {incident}); what it had not "
            "committed was rolled back, so retrying it (same Idempotency-Key, same event ids) "
            "is safe",
            incident=incident,
        )
