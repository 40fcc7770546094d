"""A challenged payment is retried under the same Idempotency-Key: the retry that adds the
challenge's id and the verifier's token is the same payment, and its answer replaces the
stored `challenge_required` — once, whoever races. Every other answer stays final."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from creditline.adapters.risk_policy import default_policy_text
from creditline.domain.money import Money
from creditline.entrypoints.api.respond import error_renderer, renderer
from creditline.service import commands
from creditline.service.bus import IdempotencyKey, Outcome
from tests.conftest import World
from tests.e2e.conftest import Api, open_account, problem


@pytest.fixture
def risk_settings(tmp_path: Path) -> dict[str, str]:
    """The packaged policy, with payments over the per-payment limit challenged instead
    of declined: a challenge on demand, whatever the velocity defaults."""
    text = default_policy_text().replace(
        "[actions]\n", '[actions]\nper_transaction_limit = "challenge"\n', 1
    )
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return {"risk_policy": str(path)}


def _body(account: str, **extra: Any) -> dict[str, Any]:
    return {"account_id": account, "order_id": "big-tv", "amount": 659_900, **extra}


def _challenged(api: Api, account: str, key: str) -> str:
    asked = problem(
        api.post("merchant", "/v1/holds", _body(account), key=key), 402, "challenge_required"
    )
    assert "same Idempotency-Key" in asked["detail"]
    return str(asked["challenge_id"])


def test_the_retry_under_the_same_key_is_the_payment(api: Api, world: World) -> None:
    account = open_account(api, 2_000_000)
    challenge = _challenged(api, account, "tv-1")
    token = world.runtime.verifier.token_for(challenge)
    again = api.post("merchant", "/v1/holds", _body(account), key="tv-1")
    assert again.headers["Idempotent-Replayed"] == "true"  # no answer yet: still asked
    assert again.json()["challenge_id"] == challenge
    wrong = api.post(
        "merchant",
        "/v1/holds",
        _body(account, challenge_id=challenge, verification_token="not-it"),
        key="tv-1",
    )
    assert problem(wrong, 422, "challenge_invalid")["params"]["challenge_id"] == challenge
    answered = _body(account, challenge_id=challenge, verification_token=token)
    placed = api.post("merchant", "/v1/holds", answered, key="tv-1")
    assert placed.status_code == 201, placed.text
    hold = placed.json()
    for body in (answered, _body(account)):  # from now on the key answers with the hold
        replay = api.post("merchant", "/v1/holds", body, key="tv-1")
        assert (replay.status_code, replay.json()) == (201, hold)
        assert replay.headers["Idempotent-Replayed"] == "true"
    assert api.get("platform", f"/v1/accounts/{account}").json()["locked"] == 659_900


def test_another_payment_under_the_key_is_still_refused(api: Api, world: World) -> None:
    account = open_account(api, 2_000_000)
    challenge = _challenged(api, account, "tv-2")
    token = world.runtime.verifier.token_for(challenge)
    other = _body(account, amount=659_901, challenge_id=challenge, verification_token=token)
    problem(api.post("merchant", "/v1/holds", other, key="tv-2"), 409, "idempotency_key_reused")
    elsewhere = _body(account, challenge_id="chal_other", verification_token=token)
    replay = api.post("merchant", "/v1/holds", elsewhere, key="tv-2")  # not the asked one
    assert problem(replay, 402, "challenge_required")["challenge_id"] == challenge


def test_a_final_answer_is_not_replaced_by_a_challenge_answer(api: Api, world: World) -> None:
    account = open_account(api, 100_000)
    body = {"account_id": account, "order_id": "o-short", "amount": 150_000}
    short = api.post("merchant", "/v1/holds", body, key="short")
    problem(short, 402, "insufficient_credit")
    retry = api.post(
        "merchant",
        "/v1/holds",
        {**body, "challenge_id": "chal_x", "verification_token": "123456"},
        key="short",
    )
    assert problem(retry, 402, "insufficient_credit") == short.json()


def test_racing_retries_place_one_hold_and_give_one_answer(world: World) -> None:
    rt = world.runtime
    account = world.open_account(2_000_000)
    key = IdempotencyKey(scope="merchant:mer_one", key="race", fingerprint="f")
    first = rt.bus.execute_idempotent(
        world.merchant,
        commands.Authorize(account_id=account, order_id="o-race", amount=Money(659_900)),
        key,
        renderer(201, _placed),
        error_renderer("en"),
    )
    assert first.status == 402
    assert first.challenge_id is not None
    token = rt.verifier.token_for(first.challenge_id)
    answers: list[Outcome] = []
    barrier = threading.Barrier(8)

    def retry() -> None:
        barrier.wait()
        answers.append(
            rt.bus.execute_idempotent(
                world.merchant,
                commands.Authorize(
                    account_id=account,
                    order_id="o-race",
                    amount=Money(659_900),
                    challenge_id=first.challenge_id,
                    verification_token=token,
                ),
                IdempotencyKey(key.scope, key.key, key.fingerprint, answers=first.challenge_id),
                renderer(201, _placed),
                error_renderer("en"),
            )
        )

    threads = [threading.Thread(target=retry) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {(a.status, a.body) for a in answers} == {(201, answers[0].body)}
    assert world.account(account).locked == Money(659_900)
    with rt.uow_factory(write=False) as uow:
        stored = uow.idempotency.get(key.scope, key.key)
    assert stored is not None
    assert (stored.status, stored.body, stored.challenge_id) == (201, answers[0].body, None)


class _HoldId(BaseModel):
    """The smallest answer for a hold: its id (enough to compare answers)."""

    id: str


def _placed(hold: Any) -> BaseModel:
    return _HoldId(id=hold.id)
