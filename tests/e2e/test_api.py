"""The HTTP API end to end (FastAPI TestClient over the real app, SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from creditline.adapters.clock import FixedClock
from creditline.bootstrap import Runtime
from creditline.service import directory
from creditline.service.access import Actor, Role
from tests.conftest import World
from tests.e2e.conftest import Api, open_account, problem


def test_pay_ship_repay_over_http(api: Api) -> None:
    account_id = open_account(api, 100_000)
    hold = api.post(
        "merchant", "/v1/holds", {"account_id": account_id, "order_id": "o-1", "amount": 60_000}
    ).json()
    assert hold["status"] == "pending"
    assert "ships" in hold["waiting_for"]
    captured = api.post(
        "merchant", f"/v1/holds/{hold['id']}/captures", {"amount": 45_000, "final": True}
    )
    assert captured.status_code == 200
    assert captured.json()["released"] == 15_000
    account = api.get("platform", f"/v1/accounts/{account_id}").json()
    assert (account["used"], account["locked"], account["available"]) == (45_000, 0, 55_000)
    repaid = api.post(
        "platform", f"/v1/accounts/{account_id}/repayments", {"amount": 45_000, "reference": "wx-1"}
    )
    assert repaid.status_code == 201
    assert repaid.json()["account"]["available"] == 100_000
    detail = api.get("merchant", f"/v1/holds/{hold['id']}").json()
    assert [t["kind"] for t in detail["timeline"]] == ["authorized", "captured", "released"]
    journal = api.get("platform", f"/v1/accounts/{account_id}/journal").json()["items"]
    assert [e["kind"] for e in journal] == ["repayment", "capture"]
    for entry in journal:
        assert sum(p["amount"] for p in entry["postings"]) == 0


def test_idempotency_over_http(api: Api) -> None:
    account_id = open_account(api, 10_000)
    body = {"account_id": account_id, "order_id": "o-1", "amount": 6_000}
    first = api.post("merchant", "/v1/holds", body, key="same")
    again = api.post("merchant", "/v1/holds", body, key="same")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    problem(
        api.post("merchant", "/v1/holds", {**body, "amount": 6_001}, key="same"),
        409,
        "idempotency_key_reused",
    )
    declined = api.post("merchant", "/v1/holds", {**body, "order_id": "o-2"}, key="declined")
    params = problem(declined, 402, "insufficient_credit")["params"]
    assert params == {
        "amount": 6_000,
        "available": 4_000,
        "credit_limit": 10_000,
        "used": 0,
        "locked": 6_000,
    }
    api.post("merchant", f"/v1/holds/{first.json()['id']}/release", {})
    retried = api.post("merchant", "/v1/holds", {**body, "order_id": "o-2"}, key="declined")
    assert retried.status_code == 402
    assert retried.headers["Idempotent-Replayed"] == "true"
    missing = api.client.post("/v1/holds", json=body, headers=api.headers("merchant"))
    problem(missing, 400, "idempotency_key_required")


def test_authentication_and_roles(api: Api, world: World) -> None:
    account_id = open_account(api)
    problem(api.get(None, f"/v1/accounts/{account_id}"), 401, "unauthorized")
    api.keys["bogus"] = "clk_not_a_key"
    unknown = api.get("bogus", f"/v1/accounts/{account_id}")
    problem(unknown, 401, "unauthorized")
    assert unknown.headers["WWW-Authenticate"].startswith("Bearer")
    api.keys["alice"] = world.consumer_key(account_id)
    assert api.get("alice", f"/v1/accounts/{account_id}").status_code == 200
    other = open_account(api)
    problem(api.get("alice", f"/v1/accounts/{other}"), 404, "account_not_found")
    problem(
        api.post("alice", "/v1/holds", {"account_id": account_id, "order_id": "o", "amount": 1}),
        403,
        "forbidden",
    )
    problem(api.get("merchant", f"/v1/accounts/{account_id}"), 404, "account_not_found")
    assert api.get("operator", f"/v1/accounts/{account_id}").status_code == 200
    hold = api.post(
        "merchant", "/v1/holds", {"account_id": account_id, "order_id": "o", "amount": 100}
    ).json()
    problem(api.post("operator", f"/v1/holds/{hold['id']}/release", {}), 422, "reason_required")
    problem(
        api.post("other_merchant", f"/v1/holds/{hold['id']}/release", {}), 404, "hold_not_found"
    )
    assert api.get("other_merchant", f"/v1/accounts/{account_id}/holds").json()["items"] == []
    assert len(api.get("merchant", f"/v1/accounts/{account_id}/holds").json()["items"]) == 1
    released = api.post("operator", f"/v1/holds/{hold['id']}/release", {"reason": "stuck"})
    assert released.json()["status"] == "released"


def test_another_platform_cannot_see_or_touch_our_accounts(api: Api, world: World) -> None:
    account_id = open_account(api)
    rt = world.runtime
    with rt.uow_factory(write=True) as uow:
        directory.create_platform(uow, name="Rival", now=rt.clock.now(), platform_id="plat_rival")
        issued = directory.issue_api_key(
            uow,
            binding=Actor(key_id="-", role=Role.PLATFORM, platform_id="plat_rival", name="rival"),
            now=rt.clock.now(),
            new_id=rt.new_id,
        )
        uow.commit()
    api.keys["rival"] = issued.key
    problem(api.get("rival", f"/v1/accounts/{account_id}"), 404, "account_not_found")
    problem(
        api.post("rival", f"/v1/accounts/{account_id}/repayments", {"amount": 1}),
        404,
        "account_not_found",
    )
    assert api.get("rival", "/v1/accounts").json()["items"] == []


def test_revoked_keys_stop_working(world: World) -> None:
    from creditline.entrypoints.api.app import create_app  # noqa: PLC0415

    rt = world.runtime
    with TestClient(create_app(rt, background=False)) as client:
        headers = {"Authorization": f"Bearer {world.keys['platform']}"}
        assert client.get("/v1/accounts", headers=headers).status_code == 200
        with rt.uow_factory(write=True) as uow:
            assert uow.directory.revoke_api_key(world.platform.key_id, rt.clock.now())
            uow.commit()
    # A new process (or the cache lifetime passing) sees the revocation.
    with TestClient(create_app(rt, background=False)) as client:
        assert client.get("/v1/accounts", headers=headers).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"order_id": "o", "amount": 100}, "account_id"),
        ({"account_id": "acct_X", "order_id": "o", "amount": 1.5}, "amount"),
        ({"account_id": "acct_X", "order_id": "o", "amount": "100"}, "amount"),
        ({"account_id": "acct_X", "order_id": "o", "amount": 0}, "amount"),
        ({"account_id": "acct_X", "order_id": "o", "amount": 100, "tip": 1}, "tip"),
        ({"account_id": "acct_X", "order_id": "o", "amount": 100, "ttl_s": 5}, "ttl_s"),
    ],
)
def test_validation_errors_name_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    body_out = problem(api.post("merchant", "/v1/holds", body), 422, "validation_error")
    assert [e["field"] for e in body_out["errors"]] == [field]
    assert field in body_out["detail"]


def test_expired_holds_read_as_released_and_need_force(api: Api, clock: FixedClock) -> None:
    account_id = open_account(api, 10_000)
    hold = api.post(
        "merchant",
        "/v1/holds",
        {"account_id": account_id, "order_id": "o", "amount": 10_000, "ttl_s": 600},
    ).json()
    clock.advance(timedelta(minutes=11))
    view = api.get("platform", f"/v1/holds/{hold['id']}").json()
    assert view["status"] == "expired"
    assert view["timeline"][-1]["kind"] == "expired"
    assert api.get("platform", f"/v1/accounts/{account_id}").json()["available"] == 10_000
    path = f"/v1/holds/{hold['id']}/captures"
    problem(api.post("merchant", path, {"amount": 10_000}), 409, "hold_expired")
    problem(api.post("merchant", path, {"amount": 10_000, "force": True}), 422, "reason_required")
    forced = api.post("merchant", path, {"amount": 10_000, "force": True, "reason": "late ship"})
    assert forced.json()["forced"] == 10_000
    account = api.get("platform", f"/v1/accounts/{account_id}").json()
    assert account["last_forced_capture_at"] is not None


def test_operations_endpoints(api: Api) -> None:
    health = api.get(None, "/healthz").json()
    assert health["status"] == "ok"
    assert health["schema_revision"] == "0010"
    open_account(api)
    metrics = api.get(None, "/metrics").text
    assert (
        'creditline_http_requests_total{method="POST",route="/v1/accounts",status="201"}' in metrics
    )
    codes = {p["code"]: p for p in api.get(None, "/problems").json()}
    assert codes["insufficient_credit"]["status"] == 402
    assert api.get(None, "/problems/hold_expired").json()["status"] == 409
    problem(api.get(None, "/problems/nope"), 404, "not_found")


def test_openapi_documents_every_write(api: Api) -> None:
    spec = api.get(None, "/openapi.json").json()
    posts = [
        (path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method == "post"
    ]
    assert len(posts) == 11
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    # Order events carry their own key (event_id); a replay is keyed by its dead letter;
    # the dry run writes nothing.
    own_key = {
        "/v1/order-events",
        "/v1/dead-letters/{letter_id}/replay",
        "/v1/accounts/{account_id}/explain",
    }
    for path, op in posts:
        header = next(p for p in op["parameters"] if p["name"].lower() == "idempotency-key")
        if path in own_key:
            assert header["required"] is False, path
            assert header["description"].startswith("Not needed"), path
            assert op["x-idempotency-key"] == "not needed", path
        else:
            assert header["required"] is True, path
        assert op["security"] == [{"HTTPBearer": []}], path


def test_openapi_declares_every_error_as_a_problem(api: Api) -> None:
    spec = api.get(None, "/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    problem_schema = spec["components"]["schemas"]["Problem"]
    assert set(problem_schema["required"]) >= {"type", "title", "status", "detail", "code"}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            errors = {s: r for s, r in op["responses"].items() if not s.startswith("2")}
            assert {"422", "500", "default"} <= set(errors), (method, path)
            if path.startswith("/v1/"):
                assert {"401", "503"} <= set(errors), (method, path)
            if method == "post":
                assert {"413", "415"} <= set(errors), (method, path)
            for status, response in errors.items():
                assert list(response["content"]) == ["application/problem+json"], (path, status)
                schema = response["content"]["application/problem+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}, (path, status)


@pytest.mark.postgres
def test_a_lock_timeout_is_a_503_and_changes_nothing(postgres_url: str, clock: FixedClock) -> None:
    from sqlalchemy import text  # noqa: PLC0415

    from creditline.bootstrap import bootstrap  # noqa: PLC0415
    from creditline.config import Settings  # noqa: PLC0415
    from creditline.entrypoints.api.app import create_app  # noqa: PLC0415
    from tests.conftest import make_world, truncate_all  # noqa: PLC0415

    truncate_all(postgres_url)
    rt: Runtime = bootstrap(
        Settings(
            database_url=postgres_url,
            db_lock_timeout_ms=200,
            sweep_interval_s=0,
            risk_policy="observe",
        ),
        clock=clock,
    )
    try:
        world = make_world(rt)
        account_id = world.open_account(10_000)
        with TestClient(create_app(rt, background=False)) as client:
            api = Api(client, dict(world.keys))
            with rt.engine.connect() as blocker:
                blocker.execute(
                    text("SELECT 1 FROM credit_account WHERE id = :id FOR UPDATE"),
                    {"id": account_id},
                )
                busy = api.post(
                    "merchant",
                    "/v1/holds",
                    {"account_id": account_id, "order_id": "o", "amount": 1},
                    key="busy",
                )
                problem(busy, 503, "service_unavailable")
                assert busy.headers["Retry-After"] == "1"
                blocker.rollback()
            retried = api.post(
                "merchant",
                "/v1/holds",
                {"account_id": account_id, "order_id": "o", "amount": 1},
                key="busy",
            )
            assert retried.status_code == 201
            assert "Idempotent-Replayed" not in retried.headers
    finally:
        rt.close()
