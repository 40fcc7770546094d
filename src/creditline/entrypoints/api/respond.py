"""From a command to an HTTP response: run it idempotently and render both outcomes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel

from creditline.domain.errors import ChallengeInvalid, ChallengeRequired, CreditlineError
from creditline.domain.risk.explain import DEFAULT_LANGUAGE
from creditline.entrypoints.api.deps import idempotency_key, runtime_of
from creditline.entrypoints.api.problems import (
    CONTENT_LANGUAGE,
    PROBLEM_MEDIA_TYPE,
    error_body,
    language_of,
)
from creditline.service.access import Actor, sees_risk_detail
from creditline.service.bus import Outcome
from creditline.service.commands import Command

REPLAYED_HEADER = "Idempotent-Replayed"
RISK_REFUSAL_STATUS = 402
"""Declines: the status whose problems may carry text in the consumer's language."""


def error_renderer(language: str, *, detail: bool = True) -> Callable[[CreditlineError], Outcome]:
    """Renders a refusal as a problem; a risk refusal's messages in `language`, with the
    numbers behind its rules only if `detail`."""

    def render_error(error: CreditlineError) -> Outcome:
        body = error_body(error, language, detail=detail)
        return Outcome(
            status=body["status"],
            body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
            challenge_id=_challenge_of(error),
        )

    return render_error


render_error = error_renderer(DEFAULT_LANGUAGE)


def renderer(status: int, to_model: Callable[[Any], BaseModel]) -> Callable[[object], Outcome]:
    def render(result: object) -> Outcome:
        return Outcome(status=status, body=to_model(result).model_dump_json().encode())

    return render


def _challenge_of(error: CreditlineError) -> str | None:
    """The challenge a refusal asks for, or refused an answer to (it may be answered
    again under the same Idempotency-Key)."""
    if isinstance(error, ChallengeRequired):
        return error.challenge_id
    if isinstance(error, ChallengeInvalid):
        found = error.params.get("challenge_id")
        return found if isinstance(found, str) else None
    return None


def _headers(outcome: Outcome) -> dict[str, str]:
    """A refusal whose text follows Accept-Language says which language it is in (a replay:
    the language it was first answered in)."""
    headers = {REPLAYED_HEADER: "true"} if outcome.replayed else {}
    if outcome.status == RISK_REFUSAL_STATUS:
        language = json.loads(outcome.body).get("language")
        if isinstance(language, str):
            headers[CONTENT_LANGUAGE] = language
    return headers


def run_command(
    request: Request,
    actor: Actor,
    command: Command,
    *,
    body: BaseModel | None,
    render: Callable[[object], Outcome],
    answers: str | None = None,
    answer_fields: frozenset[str] = frozenset(),
) -> Response:
    key = idempotency_key(request, actor, body, answers=answers, answer_fields=answer_fields)
    render_error = error_renderer(language_of(request), detail=sees_risk_detail(actor))
    outcome = runtime_of(request).bus.execute_idempotent(actor, command, key, render, render_error)
    headers = _headers(outcome)
    return Response(
        content=outcome.body,
        status_code=outcome.status,
        media_type=PROBLEM_MEDIA_TYPE if outcome.status >= 400 else "application/json",
        headers=headers,
    )
