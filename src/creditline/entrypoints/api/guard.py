"""The front door of `/v1`: size, identity and text are checked before any body is read.

A plain ASGI middleware, in this order, each refusal a problem document that changed
nothing:

1. a declared `Content-Length` above `request_body_max_bytes` → 413 at once;
2. the API key (`Authorization: Bearer …`) → 401 before a byte of the body is read, so an
   anonymous caller can make the server neither read nor parse anything;
3. the path and query parameters pass the text rule (`entrypoints/text.py`) → 422;
4. the body is read as it arrives, and the moment it passes the limit (a chunked body
   declares no length) → 413; otherwise the route gets it whole, never more than the
   limit in memory.

Every response gets `X-Content-Type-Options: nosniff`; those of `/v1` (balances,
personal data) also `Cache-Control: no-store`.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from sqlalchemy.exc import OperationalError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from creditline.entrypoints.api.deps import Authenticator, bearer_key
from creditline.entrypoints.api.problems import shell_problem
from creditline.entrypoints.text import unstorable
from creditline.service.ports import StoreUnavailable

API_PREFIX = "/v1/"
_NOSNIFF = (b"x-content-type-options", b"nosniff")
_NO_STORE = (b"cache-control", b"no-store")
_UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="creditline"'}


class TooLarge(Exception):
    """The body passed the limit while it was being read."""


class Guard:
    def __init__(self, app: ASGIApp, *, authenticator: Authenticator, body_max_bytes: int) -> None:
        self.app = app
        self.authenticator = authenticator
        self.body_max_bytes = body_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope["path"].startswith(API_PREFIX)
        send = _with_headers(send, no_store=api)
        if not api:
            await self.app(scope, receive, send)
            return
        refusal = await self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        try:
            body = await self._read(receive)
        except TooLarge:
            await self._too_large()(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _refusal(self, scope: Scope) -> ASGIApp | None:
        declared, authorization = _headers(scope)
        if declared is not None and (not declared.isdigit() or int(declared) > self.body_max_bytes):
            return self._too_large() if declared.isdigit() else _bad_length(declared)
        key = bearer_key(authorization)
        if key is None:
            return shell_problem(
                "unauthorized", "send your API key as 'Authorization: Bearer <key>'", _UNAUTHORIZED
            )
        try:
            actor = await self.authenticator.actor_for(key)
        except (OperationalError, StoreUnavailable):
            return shell_problem(
                "service_unavailable",
                "the database is unavailable; nothing changed, retry in a moment",
                {"Retry-After": "1"},
            )
        if actor is None:
            return shell_problem("unauthorized", "the API key is unknown or revoked", _UNAUTHORIZED)
        scope.setdefault("state", {})["actor"] = actor
        return _text_refusal(scope)

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks)  # the client left; the route sees an empty body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.body_max_bytes:
                raise TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _too_large(self) -> ASGIApp:
        limit = self.body_max_bytes
        return shell_problem(
            "payload_too_large",
            f"the request body is larger than {limit:,} bytes; send less (order events: split "
            "the batch)",
            params={"body_max_bytes": limit},
        )


def _headers(scope: Scope) -> tuple[str | None, str | None]:
    """Content-Length and Authorization, in one pass over the headers."""
    length = authorization = None
    for key, value in scope["headers"]:
        if key == b"content-length":
            length = value.decode("latin-1").strip()
        elif key == b"authorization":
            authorization = value.decode("latin-1").strip()
    return length, authorization


def _bad_length(declared: str) -> ASGIApp:
    return shell_problem(
        "bad_request", f"Content-Length {declared[:40]!r} is not a number of bytes"
    )


def _text_refusal(scope: Scope) -> ASGIApp | None:
    problem = unstorable(scope["path"])
    field = "path"
    if problem is None:
        query = scope.get("query_string", b"").decode("latin-1")
        for name, value in parse_qsl(query, keep_blank_values=True):
            problem = unstorable(name) or unstorable(value)
            if problem is not None:
                field = f"query.{name[:40]}"
                break
    if problem is None:
        return None
    return shell_problem(
        "validation_error",
        f"{field}: {problem}",
        errors=[{"field": field, "message": problem}],
    )


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body once, as one message; then whatever the client sends next (disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _with_headers(send: Send, *, no_store: bool) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            names = {name.lower() for name, _ in headers}
            if _NOSNIFF[0] not in names:
                headers.append(_NOSNIFF)
            if no_store and _NO_STORE[0] not in names:
                headers.append(_NO_STORE)
            message = {**message, "headers": headers}
        await send(message)

    return send_with_headers
