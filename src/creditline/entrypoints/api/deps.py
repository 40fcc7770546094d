"""Shared dependencies of the routes, as `Annotated` aliases: runtime, caller, idempotency.

Authentication: `Authorization: Bearer <key>`. A key is looked up by its hash; the answer
is cached in the process for `api_key_cache_ttl_s`, so a revoked key stops working
within that time. An unknown or revoked key is 401; a missing header too.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated

from fastapi import Depends, Header, Request
from pydantic import BaseModel

from creditline.adapters.cache import TtlCache
from creditline.bootstrap import Runtime
from creditline.entrypoints.api.problems import ApiProblem
from creditline.service.access import Actor, Role
from creditline.service.bus import IdempotencyKey
from creditline.service.directory import find_actor, hash_key

IDEMPOTENCY_KEY_LENGTH_MAX = 255
_BEARER = "bearer "


def get_runtime(request: Request) -> Runtime:
    runtime = request.app.state.runtime
    assert isinstance(runtime, Runtime)
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


class Authenticator:
    """Turns a presented key into an Actor, with a short per-process cache."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._cache: TtlCache[str, Actor] = TtlCache(runtime.settings.api_key_cache_ttl_s)

    def actor_for(self, key: str) -> Actor | None:
        digest = hash_key(key)
        actor = self._cache.get(digest)
        if actor is None:
            with self._runtime.uow_factory(write=False) as uow:
                actor = find_actor(uow, key)
            if actor is not None:
                self._cache.put(digest, actor)
        return actor


def authenticate(
    request: Request,
    authorization: Annotated[str | None, Header(description="Bearer <API key>")] = None,
) -> Actor:
    unauthorized = {"WWW-Authenticate": 'Bearer realm="creditline"'}
    if authorization is None or not authorization.lower().startswith(_BEARER):
        raise ApiProblem(
            401, "unauthorized", "send your API key as 'Authorization: Bearer <key>'", unauthorized
        )
    authenticator = request.app.state.authenticator
    assert isinstance(authenticator, Authenticator)
    actor = authenticator.actor_for(authorization[len(_BEARER) :].strip())
    if actor is None:
        raise ApiProblem(401, "unauthorized", "the API key is unknown or revoked", unauthorized)
    request.state.actor = actor
    return actor


ActorDep = Annotated[Actor, Depends(authenticate)]


def idempotency_header(
    idempotency_key: Annotated[
        str | None,
        Header(description="Unique per intended operation; retries reuse it"),
    ] = None,
) -> str:
    if idempotency_key is None or not idempotency_key.strip():
        raise ApiProblem(
            400,
            "idempotency_key_required",
            "send an Idempotency-Key header (e.g. a UUID) with every POST",
        )
    key = idempotency_key.strip()
    if len(key) > IDEMPOTENCY_KEY_LENGTH_MAX or not key.isprintable():
        raise ApiProblem(
            400,
            "idempotency_key_invalid",
            f"the Idempotency-Key must be 1–{IDEMPOTENCY_KEY_LENGTH_MAX} printable characters",
        )
    return key


IdempotencyHeaderDep = Annotated[str, Depends(idempotency_header)]


def scope_of(actor: Actor) -> str:
    """Keys belong to the owner, not to one API key, so rotating a key keeps them valid."""
    owner = {
        Role.PLATFORM: actor.platform_id,
        Role.MERCHANT: actor.merchant_id,
        Role.CONSUMER: actor.account_id,
        Role.OPERATOR: actor.key_id,
    }[actor.role]
    return f"{actor.role.value}:{owner}"


def idempotency_key(
    request: Request, actor: Actor, key: str, body: BaseModel | None
) -> IdempotencyKey:
    payload = {} if body is None else body.model_dump(mode="json")
    canonical = json.dumps(
        [request.method, request.url.path, payload], sort_keys=True, separators=(",", ":")
    )
    return IdempotencyKey(
        scope=scope_of(actor), key=key, fingerprint=hashlib.sha256(canonical.encode()).hexdigest()
    )
