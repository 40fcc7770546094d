"""Order events, dead letters and notifications over HTTP (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest

from creditline.service import directory
from creditline.service.access import Actor, Role
from tests.conftest import World
from tests.e2e.conftest import Api, open_account, problem

AT = "2026-11-22T02:00:00+08:00"


def event(event_id: str, kind: str, order: str, amount: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": event_id,
        "type": kind,
        "order_id": order,
        "occurred_at": AT,
    }
    if amount is not None:
        body["amount"] = amount
    return body


def send(api: Api, *events: dict[str, Any], who: str = "platform") -> Any:
    return api.client.post(
        "/v1/order-events", json={"events": list(events)}, headers=api.headers(who)
    )


def authorize(api: Api, account_id: str, order: str, amount: int) -> dict[str, Any]:
    response = api.post(
        "merchant", "/v1/holds", {"account_id": account_id, "order_id": order, "amount": amount}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_batch_is_applied_in_priority_order_and_once(api: Api) -> None:
    account_id = open_account(api, 100_000)
    shipped = authorize(api, account_id, "o-1", 40_000)
    cancelled = authorize(api, account_id, "o-2", 30_000)
    batch = [
        event("e-1", "shipped", "o-1", 15_000),
        event("e-2", "cancelled", "o-2"),
        event("e-3", "delivered", "o-1"),
        event("e-4", "shipped", "o-404"),
    ]
    response = send(api, *batch)
    assert response.status_code == 200, response.text
    results = {r["event_id"]: r for r in response.json()["results"]}
    assert [r["event_id"] for r in response.json()["results"]] == ["e-1", "e-2", "e-3", "e-4"]
    assert (results["e-1"]["status"], results["e-1"]["outcome"]) == ("applied", "captured")
    assert (results["e-2"]["status"], results["e-2"]["outcome"]) == ("applied", "released")
    assert results["e-3"]["status"] == "applied"
    assert results["e-3"]["hold_id"] == shipped["id"]
    assert (results["e-4"]["status"], results["e-4"]["outcome"]) == (
        "dead_lettered",
        "unknown_order",
    )
    hold = api.get("platform", f"/v1/holds/{shipped['id']}").json()
    assert (hold["status"], hold["captured"], hold["released"]) == ("captured", 15_000, 25_000)
    assert api.get("platform", f"/v1/holds/{cancelled['id']}").json()["status"] == "released"
    account = api.get("platform", f"/v1/accounts/{account_id}").json()
    assert (account["used"], account["locked"]) == (15_000, 0)

    # The same batch again: every event is a duplicate, nothing changes.
    again = send(api, *batch).json()["results"]
    assert {r["status"] for r in again} == {"duplicate"}
    metrics = api.client.get("/metrics").text
    assert 'creditline_order_events_total{source="http",status="duplicate"}' in metrics
    assert api.get("platform", f"/v1/accounts/{account_id}").json() == account


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": []}, "events"),
        ({"events": [event("e", "teleported", "o")]}, "type"),
        (
            {"events": [{**event("e", "shipped", "o"), "occurred_at": "2026-11-22T02:00:00"}]},
            "occurred_at",
        ),
        ({"events": [event("e", "shipped", "o", -1)]}, "amount"),
        ({"events": [event("e", "partially_returned", "o")]}, "events"),
        ({"events": [event("", "shipped", "o")]}, "event_id"),
        ({"events": [event(f"e{i}", "cancelled", "o") for i in range(1_001)]}, "events"),
        *(
            ({"events": [{**event("e", "shipped", "o"), "occurred_at": when}]}, "occurred_at")
            for when in (
                1_700_000_000,  # seconds since 1970: not ISO 8601
                "1700000000",
                1.7e9,
                "2026-11-22T02:30:00Z",  # 30 minutes ahead of the server's clock
                "2025-01-01T00:00:00Z",  # older than the plausible window
                "0001-01-01T00:00:00+14:00",  # before the calendar once in UTC
                "9999-12-31T23:59:59-14:00",
                "yesterday",
            )
        ),
    ],
)
def test_bad_batches_are_refused_whole_and_change_nothing(
    api: Api, body: dict[str, Any], field: str
) -> None:
    account_id = open_account(api)
    hold = authorize(api, account_id, "o", 10_000)
    response = api.client.post("/v1/order-events", json=body, headers=api.headers("platform"))
    found = problem(response, 422, "validation_error")
    assert field in str(found["errors"]), found
    assert api.get("platform", f"/v1/holds/{hold['id']}").json()["status"] == "pending"


def test_only_platforms_report_order_events(api: Api) -> None:
    for who in ("merchant", "operator"):
        problem(send(api, event("e", "cancelled", "o"), who=who), 403, "forbidden")
    unauthenticated = api.client.post("/v1/order-events", json={"events": []})
    assert unauthenticated.status_code == 401


def test_events_of_another_platform_do_not_touch_our_orders(api: Api, world: World) -> None:
    account_id = open_account(api)
    hold = authorize(api, account_id, "o-1", 10_000)
    rt = world.runtime
    with rt.uow_factory(write=True) as uow:
        directory.create_platform(uow, name="Other", now=rt.clock.now(), platform_id="plat_x")
        issued = directory.issue_api_key(
            uow,
            binding=Actor(key_id="-", role=Role.PLATFORM, platform_id="plat_x", name="x"),
            now=rt.clock.now(),
            new_id=rt.new_id,
        )
        uow.commit()
    api.keys["other"] = issued.key
    result = send(api, event("e-1", "cancelled", "o-1"), who="other").json()["results"][0]
    assert (result["status"], result["outcome"]) == ("dead_lettered", "unknown_order")
    assert api.get("platform", f"/v1/holds/{hold['id']}").json()["status"] == "pending"
    # Each platform sees only its own dead letters.
    assert api.get("platform", "/v1/dead-letters").json()["items"] == []
    assert len(api.get("other", "/v1/dead-letters").json()["items"]) == 1


def test_a_dead_letter_is_listed_and_replayed_by_an_operator(api: Api) -> None:
    account_id = open_account(api)
    result = send(api, event("e-early", "cancelled", "o-late")).json()["results"][0]
    assert result["status"] == "dead_lettered"
    [letter] = api.get("operator", "/v1/dead-letters?kind=order_event").json()["items"]
    assert (letter["ref"], letter["reason"]) == ("e-early", "unknown_order")
    assert letter["payload"]["order_id"] == "o-late"
    path = f"/v1/dead-letters/{letter['id']}/replay"

    problem(
        api.client.post(path, json={"reason": "x"}, headers=api.headers("platform")),
        403,
        "forbidden",
    )
    problem(
        api.client.post(path, json={"reason": " "}, headers=api.headers("operator")),
        422,
        "reason_required",
    )
    # Still no hold: the replay is counted and the letter stays open.
    first = api.client.post(path, json={"reason": "retry"}, headers=api.headers("operator"))
    assert first.status_code == 200, first.text
    assert first.json()["resolved"] is False

    hold = authorize(api, account_id, "o-late", 10_000)
    second = api.client.post(
        path, json={"reason": "order now exists"}, headers=api.headers("operator")
    )
    assert second.json()["resolved"] is True
    assert second.json()["result"]["outcome"] == "released"
    assert api.get("platform", f"/v1/holds/{hold['id']}").json()["status"] == "released"
    assert api.get("operator", "/v1/dead-letters").json()["items"] == []
    again = api.client.post(path, json={"reason": "twice"}, headers=api.headers("operator"))
    problem(again, 404, "dead_letter_not_found")
    assert api.get("platform", f"/v1/accounts/{account_id}").json()["locked"] == 0


def test_consumers_list_their_own_notifications(api: Api, world: World) -> None:
    account_id = open_account(api)
    other_id = open_account(api)
    hold = authorize(api, account_id, "o-1", 20_000)
    authorize(api, other_id, "o-2", 5_000)
    send(api, event("e-1", "shipped", "o-1", 5_000), event("e-2", "cancelled", "o-1"))
    api.keys["alice"] = world.consumer_key(account_id)
    page = api.get("alice", f"/v1/accounts/{account_id}/notifications?limit=2").json()
    assert [n["type"] for n in page["items"]] == ["hold.released", "hold.captured"]
    rest = api.get(
        "alice", f"/v1/accounts/{account_id}/notifications?after={page['next_cursor']}"
    ).json()
    assert [n["type"] for n in rest["items"]] == ["hold.created"]
    assert rest["next_cursor"] is None
    created = rest["items"][0]
    assert created["payload"]["data"]["hold_id"] == hold["id"]
    assert created["payload"]["id"] == created["id"]
    assert created["delivery"] == "no_webhook"
    problem(api.get("alice", f"/v1/accounts/{other_id}/notifications"), 404, "account_not_found")


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        "[]",
        '{"platform_id": 1, "event_id": "e", "type": "cancelled", "order_id": "o",'
        ' "occurred_at": "2026-11-22T02:00:00Z", "amount": null}',
        '{"platform_id": "plat_test", "event_id": "e", "type": "cancelled", "order_id": ["o"],'
        ' "occurred_at": "2026-11-22T02:00:00Z", "amount": null}',
        '{"platform_id": "plat_test", "event_id": "e", "type": "shipped", "order_id": "o",'
        ' "occurred_at": "2026-11-22T02:00:00Z", "amount": "5"}',
        '{"platform_id": "plat_test", "event_id": "e", "type": "shipped", "order_id": "o",'
        ' "occurred_at": "2026-11-22T02:00:00", "amount": null}',
        '{"platform_id": "plat_test", "event_id": "e", "type": "teleported", "order_id": "o",'
        ' "occurred_at": "2026-11-22T02:00:00Z", "amount": null}',
        '{"platform_id": "plat_test", "event_id": "e", "type": "shipped", "order_id": "o",'
        ' "occurred_at": 5, "amount": null}',
    ],
)
def test_replaying_any_dead_letter_never_answers_500(api: Api, world: World, payload: str) -> None:
    """A dead letter's payload is trusted only as far as it parses: whatever it holds, a
    replay answers 409 `dead_letter_not_replayable` and changes nothing."""

    for reason in ("unknown_order", "invalid_message"):
        letter_id = world.plant_dead_letter(reason=reason, payload=payload)
        path = f"/v1/dead-letters/{letter_id}/replay"
        answer = api.client.post(path, json={"reason": "try"}, headers=api.headers("operator"))
        problem(answer, 409, "dead_letter_not_replayable")


def test_a_valid_event_from_an_invalid_message_is_not_replayed(api: Api, world: World) -> None:
    """A message refused at the door stays refused: its sender must fix and resend it,
    even if its payload happens to read as an event."""
    from creditline.domain.order_events import OrderEvent, OrderEventType  # noqa: PLC0415
    from creditline.service.orders.events import event_json  # noqa: PLC0415

    rt = world.runtime
    account_id = open_account(api)
    hold = authorize(api, account_id, "o-1", 10_000)
    payload = event_json(
        OrderEvent("plat_test", "e-x", OrderEventType.CANCELLED, "o-1", rt.clock.now())
    )
    world.plant_dead_letter(
        letter_id="dlq_planted", ref="msg:1", reason="invalid_message", payload=payload
    )
    answer = api.client.post(
        "/v1/dead-letters/dlq_planted/replay", json={"reason": "x"}, headers=api.headers("operator")
    )
    problem(answer, 409, "dead_letter_not_replayable")
    assert api.get("platform", f"/v1/holds/{hold['id']}").json()["status"] == "pending"
