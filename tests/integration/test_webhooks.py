"""Webhook delivery against a real local HTTP receiver: signed, retried with backoff, dead.

The receiver verifies every signature with `verify_signature` (what a platform runs) and
answers with whatever status the test sets; the clock is fixed, so backoff is checked by
moving it.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from creditline.adapters.clock import FixedClock
from creditline.adapters.db.schema import outbox
from creditline.adapters.webhook_http import HttpWebhookSender
from creditline.service import directory
from creditline.service.notifications.webhooks import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    DispatchResult,
    RetryPolicy,
    backoff_s,
    dispatch,
    sign,
    verify_signature,
)
from tests.conftest import World


@dataclass
class Received:
    event_id: str
    body: dict[str, object]
    signature_ok: bool


@dataclass
class Receiver:
    clock: FixedClock
    secret: str = ""
    status: int = 200
    got: list[Received] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def receiver(clock: FixedClock) -> Iterator[Receiver]:
    state = Receiver(clock)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            ok = verify_signature(
                state.secret, self.headers[SIGNATURE_HEADER], body, state.clock.now()
            )
            state.got.append(Received(self.headers[EVENT_ID_HEADER], json.loads(body), ok))
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    yield state
    server.shutdown()
    server.server_close()


def configure(world: World, url: str) -> str:
    with world.runtime.uow_factory(write=True) as uow:
        change = directory.configure_platform(uow, "plat_test", webhook_url=url)
        uow.commit()
    assert change.webhook_secret is not None
    return change.webhook_secret


POLICY = RetryPolicy(attempts_max=3, base_s=10.0, cap_s=100.0, lease_s=30.0)


def run(world: World, sender: HttpWebhookSender, policy: RetryPolicy = POLICY) -> DispatchResult:
    rt = world.runtime
    return dispatch(
        rt.uow_factory,
        sender,
        now=rt.clock.now(),
        new_id=rt.new_id,
        policy=policy,
        rng=random.Random(7),
    )


def status_of(world: World) -> list[tuple[str, str, int]]:
    with world.runtime.engine.connect() as conn:
        rows = conn.execute(
            select(outbox.c.type, outbox.c.status, outbox.c.attempts).order_by(outbox.c.id)
        ).all()
    return [(r.type, r.status, r.attempts) for r in rows]


def test_notifications_are_signed_delivered_once_and_carry_their_id(
    world: World, receiver: Receiver
) -> None:
    receiver.secret = configure(world, receiver.url)
    account_id = world.open_account(100_000)
    hold = world.authorize(account_id, 30_000)
    sender = HttpWebhookSender(5.0)
    try:
        assert run(world, sender) == DispatchResult(1, 0, 0)
        assert run(world, sender) == DispatchResult(0, 0, 0)  # nothing due twice
    finally:
        sender.close()
    [got] = receiver.got
    assert got.signature_ok
    assert got.body["type"] == "hold.created"
    assert got.body["id"] == got.event_id
    assert got.body["data"]["hold_id"] == hold.id  # type: ignore[index]
    assert status_of(world) == [("hold.created", "delivered", 1)]


def test_a_failing_receiver_is_retried_with_backoff_then_dead_lettered(
    world: World, receiver: Receiver, clock: FixedClock
) -> None:
    receiver.secret = configure(world, receiver.url)
    receiver.status = 500
    world.authorize(world.open_account(100_000), 30_000)
    sender = HttpWebhookSender(5.0)
    try:
        assert run(world, sender) == DispatchResult(0, 1, 0)
        # Not due again before the shortest possible backoff (half of base · 2^0).
        clock.advance(timedelta(seconds=POLICY.base_s / 2 - 1))
        assert run(world, sender) == DispatchResult(0, 0, 0)
        clock.advance(timedelta(seconds=POLICY.base_s))
        assert run(world, sender) == DispatchResult(0, 1, 0)
        clock.advance(timedelta(seconds=POLICY.base_s * 2))
        assert run(world, sender) == DispatchResult(0, 0, 1)
        clock.advance(timedelta(days=1))
        assert run(world, sender) == DispatchResult(0, 0, 0)
    finally:
        sender.close()
    assert len(receiver.got) == POLICY.attempts_max
    assert all(g.signature_ok for g in receiver.got)
    assert len({g.event_id for g in receiver.got}) == 1  # the same id: receivers de-duplicate
    assert status_of(world) == [("hold.created", "dead", POLICY.attempts_max)]
    with world.runtime.uow_factory(write=False) as uow:
        letters = uow.dead_letters.open(kind="webhook", after=None, limit=10).items
    [letter] = letters
    assert letter.reason == "webhook_undeliverable"
    assert "HTTP 500" in letter.detail


def test_an_unreachable_receiver_counts_as_a_failed_attempt(
    world: World, receiver: Receiver
) -> None:
    configure(world, "http://127.0.0.1:9/nothing-listens-here")
    world.authorize(world.open_account(100_000), 30_000)
    sender = HttpWebhookSender(2.0)
    try:
        assert run(world, sender) == DispatchResult(0, 1, 0)
    finally:
        sender.close()
    assert status_of(world) == [("hold.created", "pending", 1)]


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(attempts_max=20, base_s=5.0, cap_s=3_600.0)
    rng = random.Random(1)
    for attempt in range(1, 15):
        ceiling = min(policy.cap_s, policy.base_s * 2 ** (attempt - 1))
        waits = [backoff_s(attempt, policy, rng) for _ in range(50)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits), attempt
        assert len(set(waits)) > 1  # jittered


def test_signature_refuses_tampering_other_secrets_and_old_timestamps(
    world: World, clock: FixedClock
) -> None:
    now = clock.now()
    body = b'{"id":"ntf_1"}'
    header = sign("whsec_a", int(now.timestamp()), body)
    assert verify_signature("whsec_a", header, body, now)
    assert not verify_signature("whsec_b", header, body, now)
    assert not verify_signature("whsec_a", header, body + b" ", now)
    assert not verify_signature("whsec_a", "v1=abc", body, now)
    later = now + timedelta(minutes=6)
    assert not verify_signature("whsec_a", header, body, later)
    assert isinstance(later, datetime)


def test_a_platform_without_a_webhook_keeps_notifications_listable_only(
    world: World, receiver: Receiver
) -> None:
    world.authorize(world.open_account(100_000), 30_000)
    sender = HttpWebhookSender(2.0)
    try:
        assert run(world, sender) == DispatchResult(0, 0, 0)
    finally:
        sender.close()
    assert receiver.got == []
    assert status_of(world) == [("hold.created", "no_webhook", 0)]
