"""Risk control over HTTP: refusals as problems with reasons in the consumer's language,
the challenge round trip, the dry run, the decision log and the risk profile."""

from __future__ import annotations

from datetime import timedelta

import pytest

from creditline.adapters.clock import FixedClock
from tests.conftest import World
from tests.e2e.conftest import Api, open_account, problem

WHERE = {
    "device_id": "dev-1",
    "ip": "10.0.0.1",
    "location": {"latitude": 31.23, "longitude": 121.47, "city": "Shanghai"},
}


@pytest.fixture
def risk_settings() -> dict[str, str]:
    return {"risk_policy": ""}  # the packaged policy, enforced


def hold_body(account: str, amount: int, **extra: object) -> dict[str, object]:
    return {
        "account_id": account,
        "order_id": f"o-{amount}-{len(extra)}",
        "amount": amount,
        **WHERE,
        **extra,
    }


def test_a_decline_explains_itself_in_the_consumers_language(api: Api) -> None:
    account = open_account(api, 2_000_000)
    body = hold_body(account, 620_000, merchant_id="mer_one")
    english = api.client.post(
        "/v1/holds",
        json=body,
        headers={**api.headers("platform", "decline-1"), "Accept-Language": "en-US,en;q=0.9"},
    )
    found = problem(english, 402, "risk_declined")
    assert (found["language"], english.headers["content-language"]) == ("en", "en")
    assert found["message"] == "The per-payment limit is ¥5,000.00; this payment is ¥6,200.00."
    assert "split the order" in found["remedy"]
    [reason] = found["reasons"]
    assert reason["code"] == "per_transaction_limit"
    assert reason["numbers"] == {"amount": 620_000, "limit": 500_000, "tier": "standard"}
    assert found["params"]["codes"] == "per_transaction_limit"
    assert found["decision_id"].startswith("rdec_")
    assert "per_transaction_limit (amount=620000, limit=500000" in found["detail"]
    chinese = api.post("platform", "/v1/holds", {**body, "order_id": "o-zh"})
    assert chinese.headers["content-language"] == "zh-CN"
    assert (
        problem(chinese, 402, "risk_declined")["message"]
        == "单笔支付限额为¥5,000.00，本次支付¥6,200.00。"
    )
    replay = api.client.post(
        "/v1/holds",
        json=body,
        headers={**api.headers("platform", "decline-1"), "Accept-Language": "zh-CN"},
    )
    assert replay.json() == english.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.headers["content-language"] == "en"  # the language it was answered in
    assert api.get("platform", f"/v1/accounts/{account}").json()["locked"] == 0


def test_a_merchant_gets_the_verdict_but_not_the_consumers_numbers(api: Api) -> None:
    """A merchant — perhaps one that never dealt with this consumer — learns whether a
    payment would pass and what the consumer is told, never the account's features,
    available credit, or the numbers behind the rules."""
    account = open_account(api, 2_000_000)
    assert api.post("merchant", "/v1/holds", hold_body(account, 10_000)).status_code == 201
    ask = {"amount": 620_000, **WHERE, "location": {"latitude": 39.9, "longitude": 116.4}}
    for who in ("merchant", "platform", "operator"):
        dry = api.post(who, f"/v1/accounts/{account}/explain", {**ask, "merchant_id": "mer_one"})
        assert dry.status_code == 200, (who, dry.text)
        answer = dry.json()
        assert (answer["would_pass"], answer["outcome"]) == (False, "risk_declined")
        codes = {r["code"] for r in answer["reasons"]}
        assert {"per_transaction_limit", "impossible_travel"} <= codes
        assert all(r["message"] and r["remedy"] for r in answer["reasons"])
        secret = (answer["available"], answer["features"], answer["reasons"][0]["numbers"])
        if who == "merchant":
            assert secret == (None, None, None), answer
            assert "Shanghai" not in dry.text
            assert "dev-1" not in dry.text
        else:
            assert answer["available"] == 1_990_000
            assert answer["features"]["known_devices"] == ["dev-1"]
            assert answer["features"]["last_seen"]["location"]["city"] == "Shanghai"
    refused = api.post("merchant", "/v1/holds", hold_body(account, 620_000))
    found = problem(refused, 402, "risk_declined")
    assert all(r["numbers"] is None for r in found["reasons"])
    assert found["detail"] == "declined by risk rules: per_transaction_limit"
    assert "Shanghai" not in refused.text


def test_a_challenge_is_answered_with_the_verifiers_token(
    api: Api, world: World, clock: FixedClock
) -> None:
    """A cart of 8 orders in one second passes; a 9th payment seconds later is asked to
    verify, and passes with the verifier's token."""
    account = open_account(api, 2_000_000)
    for n in range(8):
        cart = hold_body(account, 10_000, order_id=f"cart-{n}")
        assert api.post("merchant", "/v1/holds", cart).status_code == 201
    clock.advance(timedelta(seconds=2))
    second = hold_body(account, 12_000)
    asked = problem(api.post("merchant", "/v1/holds", second), 402, "challenge_required")
    challenge_id = asked["challenge_id"]
    assert [r["code"] for r in asked["reasons"]] == ["velocity_burst"]
    wrong = api.post(
        "merchant", "/v1/holds", {**second, "challenge_id": challenge_id, "verification_token": "x"}
    )
    assert problem(wrong, 422, "challenge_invalid")["params"]["reason"] == "wrong_token"
    token = world.runtime.verifier.token_for(challenge_id)
    done = api.post(
        "merchant",
        "/v1/holds",
        {**second, "challenge_id": challenge_id, "verification_token": token},
    )
    assert done.status_code == 201, done.text
    log = api.get("platform", f"/v1/accounts/{account}/decisions").json()["items"]
    assert [d["action"] for d in log] == ["challenge", "challenge"] + ["approve"] * 8
    assert (log[0]["hold_id"], log[0]["challenge_id"]) == (done.json()["id"], challenge_id)
    assert log[1]["challenge_id"] == challenge_id
    assert log[1]["hold_id"] is None


def test_explain_is_a_dry_run_that_agrees(api: Api, clock: FixedClock) -> None:
    account = open_account(api, 2_000_000)
    ask = {"amount": 620_000, "merchant_id": "mer_one", **WHERE}
    dry = api.client.post(
        f"/v1/accounts/{account}/explain",
        json=ask,
        headers={**api.headers("platform"), "Accept-Language": "en"},
    )
    assert dry.status_code == 200, dry.text
    answer = dry.json()
    assert (answer["would_pass"], answer["action"]) == (False, "decline")
    assert answer["outcome"] == "risk_declined"
    assert dry.headers["content-language"] == "en"
    assert [r["code"] for r in answer["reasons"]] == ["per_transaction_limit"]
    assert answer["reasons"][0]["message"].startswith("The per-payment limit is ¥5,000.00")
    assert answer["available"] == 2_000_000
    assert api.get("platform", f"/v1/accounts/{account}/decisions").json()["items"] == []
    fine = api.post("platform", f"/v1/accounts/{account}/explain", {**ask, "amount": 10_000})
    assert (fine.json()["would_pass"], fine.json()["action"]) == (True, "approve")
    real = api.post("merchant", "/v1/holds", hold_body(account, 620_000))
    assert problem(real, 402, "risk_declined")["reasons"][0]["code"] == "per_transaction_limit"
    nobody = api.post("platform", "/v1/accounts/acct_nobody/explain", ask)
    problem(nobody, 404, "account_not_found")
    bad = api.post(
        "platform",
        f"/v1/accounts/{account}/explain",
        {**ask, "location": {"latitude": 91, "longitude": 0}},
    )
    assert problem(bad, 422, "validation_error")["errors"][0]["field"] == "location.latitude"


def test_decision_log_and_risk_profile_are_for_the_platform_and_operators(api: Api) -> None:
    account = open_account(api, 2_000_000)
    problem(api.get("merchant", f"/v1/accounts/{account}/decisions"), 403, "forbidden")
    premium = api.post("platform", f"/v1/accounts/{account}/risk-profile", {"tier": "premium"})
    assert premium.status_code == 200, premium.text
    assert (premium.json()["tier"], premium.json()["real_name_verified"]) == ("premium", True)
    assert api.post("merchant", "/v1/holds", hold_body(account, 620_000)).status_code == 201
    unknown = api.post("platform", f"/v1/accounts/{account}/risk-profile", {"tier": "gold"})
    assert "gold" in problem(unknown, 422, "unknown_tier")["detail"]
    unverified = api.post(
        "platform",
        "/v1/accounts",
        {"external_ref": "u-unverified", "credit_limit": 100_000, "real_name_verified": False},
    ).json()
    refused = api.post("merchant", "/v1/holds", hold_body(unverified["id"], 1_000))
    assert problem(refused, 402, "risk_declined")["reasons"][0]["code"] == "real_name_required"
