"""The OpenAPI document says what the API really answers, errors included.

Routes declare the refusals they can give (`problem_responses(402, 404, 409)`); this
module adds what every operation shares — 401 on `/v1`, 413 and 415 on bodies, 422,
500, 503, and a `default` — all as `application/problem+json` with the `Problem`
schema, and replaces FastAPI's own 422 (another shape, another media type), so a client
generated from the document (or a fuzzer reading it) expects exactly what arrives. The
Idempotency-Key header is declared where it is needed, and declared optional — with the
reason — on the two writes that carry their own key or change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from creditline.entrypoints.api.body import Problem
from creditline.entrypoints.api.problems import PROBLEM_MEDIA_TYPE

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
IDEMPOTENCY_KEY_LENGTH_MAX = 255

MEANINGS: dict[int, str] = {
    400: "The Idempotency-Key is missing or malformed, or the body is unreadable",
    401: "The API key is missing, unknown or revoked",
    402: "Declined: not enough credit, the account is not active, or the risk rules refuse "
    "it (`reasons` say why, with the numbers and a way forward)",
    403: "This role may never do this",
    404: "Unknown, or not the caller's (the two look the same)",
    409: "The current state does not allow it, or the Idempotency-Key was first used for "
    "another request",
    413: "The body is larger than the server accepts",
    415: "The body is not JSON",
    422: "A field is missing or malformed, or the input cannot be used (`errors`, `params`)",
    500: "An unexpected error; it is logged with the incident id in the answer",
    503: "The database was busy or unavailable; nothing changed, retry with the same key",
}

IDEMPOTENCY_HEADER_DOC: dict[str, Any] = {
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": True,
            "description": "Unique per intended operation (e.g. a UUID); a retry reuses it and "
            "gets the first answer back.",
            "schema": {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_LENGTH_MAX},
        }
    ]
}


def no_idempotency_key(why: str) -> dict[str, Any]:
    """openapi_extra of a POST that needs no Idempotency-Key, saying why."""
    return {
        "x-idempotency-key": "not needed",
        "parameters": [
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": f"Not needed, and ignored if sent: {why}",
                "schema": {"type": "string"},
            }
        ],
    }


def _problem_content() -> dict[str, Any]:
    return {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: the refusals it can answer, as problems."""
    return {s: {"description": MEANINGS[s], "content": _problem_content()} for s in statuses}


def _shared(path: str, method: str) -> tuple[int, ...]:
    shared = [422, 500]
    if path.startswith("/v1/"):
        shared += [401, 503]
        if method == "post":
            shared += [413, 415]
    return tuple(shared)


def _add_problems(schema: dict[str, Any]) -> None:
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in _shared(path, method):
                responses[str(status)] = {
                    "description": MEANINGS[status],
                    "content": _problem_content(),
                }
            responses["default"] = {
                "description": "Any other error, as a problem document",
                "content": _problem_content(),
            }
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(problem.pop("$defs", {}))
    components["Problem"] = problem
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)


def install_openapi(app: FastAPI) -> None:
    """Replace `app.openapi` with the document above, built once."""
    built: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not built:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _add_problems(schema)
            built.update(schema)
        return built

    setter: Callable[[], dict[str, Any]] = openapi
    app.openapi = setter  # type: ignore[method-assign]
