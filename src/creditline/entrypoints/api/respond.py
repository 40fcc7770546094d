"""From a command to an HTTP response: run it idempotently and render both outcomes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel

from creditline.domain.errors import CreditlineError
from creditline.domain.risk.explain import DEFAULT_LANGUAGE
from creditline.entrypoints.api.deps import idempotency_key, runtime_of
from creditline.entrypoints.api.problems import PROBLEM_MEDIA_TYPE, error_body, language_of
from creditline.service.access import Actor
from creditline.service.bus import Outcome
from creditline.service.commands import Command

REPLAYED_HEADER = "Idempotent-Replayed"


def error_renderer(language: str) -> Callable[[CreditlineError], Outcome]:
    """Renders a refusal as a problem; a risk refusal's messages in `language`."""

    def render_error(error: CreditlineError) -> Outcome:
        body = error_body(error, language)
        return Outcome(
            status=body["status"],
            body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
        )

    return render_error


render_error = error_renderer(DEFAULT_LANGUAGE)


def renderer(status: int, to_model: Callable[[Any], BaseModel]) -> Callable[[object], Outcome]:
    def render(result: object) -> Outcome:
        return Outcome(status=status, body=to_model(result).model_dump_json().encode())

    return render


def run_command(
    request: Request,
    actor: Actor,
    command: Command,
    *,
    body: BaseModel | None,
    render: Callable[[object], Outcome],
) -> Response:
    key = idempotency_key(request, actor, body)
    outcome = runtime_of(request).bus.execute_idempotent(
        actor, command, key, render, error_renderer(language_of(request))
    )
    return Response(
        content=outcome.body,
        status_code=outcome.status,
        media_type=PROBLEM_MEDIA_TYPE if outcome.status >= 400 else "application/json",
        headers={REPLAYED_HEADER: "true"} if outcome.replayed else None,
    )
