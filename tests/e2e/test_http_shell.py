"""The HTTP shell's own rules: size limits, identity before parsing, text the databases can
store, problem documents for every failure, caching headers, a useful home page.

Where the transport matters (a declared Content-Length refused before the body is sent)
the test speaks HTTP/1.1 over a socket to a real uvicorn server; the rest use the
TestClient over the same app.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from creditline.entrypoints.api.app import create_app
from tests.conftest import World
from tests.e2e.conftest import Api, open_account, problem

BODY_MAX = 1_048_576


def _raw(address: str, head: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(head.encode("latin-1") + b"\r\n" + body)
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        header_text, _, rest = data.partition(b"\r\n\r\n")
        lines = header_text.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            rest += conn.recv(65536)
    return int(lines[0].split()[1]), headers, rest


def test_a_declared_body_over_the_limit_is_refused_before_it_is_sent(
    live_url: str, world: World
) -> None:
    head = (
        "POST /v1/holds HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {world.keys['merchant']}\r\nIdempotency-Key: big\r\n"
        f"Content-Length: {BODY_MAX + 1}\r\n"
    )
    status, headers, body = _raw(live_url, head)  # not one byte of the body is sent
    assert status == 413
    assert headers["content-type"] == "application/problem+json"
    found = json.loads(body)
    assert found["code"] == "payload_too_large"
    assert found["params"] == {"body_max_bytes": BODY_MAX}


def test_a_chunked_body_is_cut_off_at_the_limit(live_url: str, world: World) -> None:
    head = (
        "POST /v1/holds HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {world.keys['merchant']}\r\nIdempotency-Key: chunks\r\n"
        "Transfer-Encoding: chunked\r\n"
    )
    chunk = b"x" * 65_536
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(17)) + b"0\r\n\r\n"
    status, _, answer = _raw(live_url, head, body)
    assert status == 413
    assert json.loads(answer)["code"] == "payload_too_large"


def test_anonymous_callers_are_refused_before_the_body_is_read(api: Api) -> None:
    for body in (b"{not json", b'{"amount": 1}', b"x" * 10):
        answer = api.client.post(
            "/v1/holds", content=body, headers={"Content-Type": "application/json"}
        )
        problem(answer, 401, "unauthorized")
        assert answer.headers["www-authenticate"].startswith("Bearer")


def test_a_batch_of_the_most_events_with_long_ids_fits_the_body_limit(api: Api) -> None:
    events = [
        {
            "event_id": f"{n:0128d}",
            "type": "cancelled",
            "order_id": "o" * 200,
            "occurred_at": "2026-11-22T10:00:00+08:00",
        }
        for n in range(1_000)
    ]
    raw = json.dumps({"events": events}).encode()
    assert len(raw) < BODY_MAX
    answer = api.client.post(
        "/v1/order-events",
        content=raw,
        headers={**api.headers("platform"), "Content-Type": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    assert {r["status"] for r in answer.json()["results"]} == {"dead_lettered"}


@pytest.mark.parametrize(
    "char", [chr(0), chr(0xD800), chr(0xDFFF)], ids=["nul", "high-surrogate", "low-surrogate"]
)
def test_text_no_database_can_store_is_refused_in_bodies(api: Api, world: World, char: str) -> None:
    account_id = open_account(api)
    body = {"account_id": account_id, "order_id": f"o{char}1", "amount": 100}
    raw = json.dumps(body)  # \u0000 / \ud800 escapes: valid JSON, unstorable text
    answer = api.client.post(
        "/v1/holds",
        content=raw,
        headers={**api.headers("merchant", "nul"), "Content-Type": "application/json"},
    )
    found = problem(answer, 422, "validation_error")
    assert found["errors"][0]["field"] == "order_id"
    # pydantic itself refuses surrogates ("unable to parse … as a unicode string")
    assert ("cannot be stored" if char == "\x00" else "unicode") in found["errors"][0]["message"]
    holds = api.get("platform", f"/v1/accounts/{account_id}/holds").json()["items"]
    assert holds == []


def test_text_no_database_can_store_is_refused_in_paths_and_queries(api: Api) -> None:
    for path, field in (
        ("/v1/accounts/acct_x%00y", "path"),
        ("/v1/accounts?after=%00", "query.after"),
        ("/v1/holds/hold_1%00", "path"),
        ("/v1/dead-letters?after=a%00b", "query.after"),
    ):
        found = problem(api.get("platform", path), 422, "validation_error")
        assert found["errors"][0]["field"] == field, path


def test_every_failure_is_a_problem_whose_type_resolves(api: Api, world: World) -> None:
    account_id = open_account(api)
    answers = [
        api.get(None, "/v1/accounts"),
        api.get("platform", "/v1/nowhere"),
        api.client.delete(f"/v1/accounts/{account_id}", headers=api.headers("platform")),
        api.client.post(
            "/v1/holds", headers={**api.headers("merchant"), "Content-Type": "application/json"}
        ),
        api.client.post("/v1/holds", json={}, headers=api.headers("merchant", " ")),
        api.client.post("/v1/holds", json={}, headers=api.headers("merchant", "\t" * 300)),
        api.post("merchant", "/v1/holds", {"account_id": account_id}),
        api.client.post(
            "/v1/holds",
            content=b"\xff\xfe",
            headers={**api.headers("merchant", "k"), "Content-Type": "application/json"},
        ),
        api.client.post(
            "/v1/holds",
            content=b"amount=1",
            headers={**api.headers("merchant", "k"), "Content-Type": "text/plain"},
        ),
        api.get(None, "/problems/nope"),
    ]
    catalogue = {p["code"] for p in api.get(None, "/problems").json()}
    for answer in answers:
        assert answer.status_code >= 400
        assert answer.headers["content-type"] == "application/problem+json", answer.text
        found = answer.json()
        assert found["code"] in catalogue, found
        resolved = api.get(None, found["type"])
        assert resolved.status_code == 200, found["type"]
        assert resolved.json()["status"] in (found["status"], 400)


def test_an_unexpected_error_is_a_problem_with_an_incident(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from creditline.service.accounts import queries  # noqa: PLC0415

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(queries, "get_account", broken)
    app = create_app(world.runtime, background=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get(
            "/v1/accounts/acct_x", headers={"Authorization": f"Bearer {world.keys['platform']}"}
        )
    found = problem(answer, 500, "internal_error")
    assert found["incident"] in found["detail"]
    assert "boom" not in answer.text  # the cause is in the log, not in the answer


def test_405_lists_every_method_of_the_path(api: Api) -> None:
    account_id = open_account(api)
    for method, path, allowed in (
        ("DELETE", "/v1/accounts", "GET, POST"),
        ("PUT", f"/v1/accounts/{account_id}", "GET"),
        ("GET", "/v1/holds", "POST"),
        ("PATCH", "/v1/order-events", "POST"),
    ):
        answer = api.client.request(method, path, headers=api.headers("platform"))
        problem(answer, 405, "method_not_allowed")
        assert answer.headers["allow"] == allowed, path


def test_messages_about_bodies_are_written_for_people(api: Api) -> None:
    headers = {**api.headers("merchant", "m"), "Content-Type": "application/json"}
    syntax = api.client.post("/v1/holds", content=b'{"amount": 1,\n "order_id": }', headers=headers)
    found = problem(syntax, 422, "validation_error")
    assert found["errors"] == [
        {
            "field": "body",
            "message": "the body is not valid JSON: Expecting value at line 2, column 14",
        }
    ]
    missing = api.client.post("/v1/holds", headers=headers)
    message = problem(missing, 422, "validation_error")["errors"][0]["message"]
    assert "AuthorizeIn" in message
    assert "account_id, order_id, amount" in message
    plain = api.client.post(
        "/v1/holds", content=b"a", headers={**headers, "Content-Type": "text/plain"}
    )
    problem(plain, 415, "unsupported_media_type")


def test_balances_are_never_cached_and_content_is_never_sniffed(api: Api) -> None:
    account_id = open_account(api)
    for answer in (
        api.get("platform", f"/v1/accounts/{account_id}"),
        api.get("platform", "/v1/accounts/acct_none"),
        api.get(None, f"/v1/accounts/{account_id}"),
    ):
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-content-type-options"] == "nosniff"
    for path in ("/", "/healthz", "/problems", "/openapi.json"):
        assert api.get(None, path).headers["x-content-type-options"] == "nosniff"


def test_the_home_page_points_at_the_docs(api: Api) -> None:
    home = api.get(None, "/")
    assert home.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
    for link in ("/docs", "/openapi.json", "/healthz", "/problems", "/metrics"):
        assert f'href="{link}"' in home.text
    docs = api.get(None, "/docs")
    assert "/static/docs/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert api.get(None, "/static/docs/swagger-ui-bundle.js").status_code == 200
    assert api.get(None, "/static/docs/swagger-ui.css").status_code == 200


def test_an_unknown_query_parameter_is_refused_by_name(api: Api) -> None:
    account_id = open_account(api)
    found = problem(
        api.get("platform", f"/v1/accounts/{account_id}/holds?statu=pending&limit=5"),
        422,
        "validation_error",
    )
    assert found["errors"][0]["field"] == "statu"
    assert "it takes: after, limit, status" in found["errors"][0]["message"]
    assert api.get("platform", f"/v1/accounts/{account_id}/holds?status=pending").status_code == 200


def _string_fields(spec: dict[str, Any], schema: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Every string field of a body schema: (its dotted path, a value of this schema that
    puts a NUL in that field)."""
    if "$ref" in schema:
        yield from _string_fields(spec, spec["components"]["schemas"][schema["$ref"][21:]])
        return
    for variant in schema.get("anyOf", ()):
        if variant.get("type") != "null":
            yield from _string_fields(spec, variant)
    kind = schema.get("type")
    if kind == "string" and "enum" not in schema and schema.get("format") != "date-time":
        yield "", "\x00"
    elif kind == "array":
        for inner, value in _string_fields(spec, schema.get("items", {})):
            yield ".".join(("0", inner)).rstrip("."), [value]
    elif kind == "object":
        for name, prop in schema.get("properties", {}).items():
            for inner, value in _string_fields(spec, prop):
                yield ".".join((name, inner)).rstrip("."), {name: value}


def test_every_string_field_of_every_body_refuses_nul(api: Api) -> None:
    """The whole class, from the OpenAPI document: each string field of each request
    body (nested objects and lists included) answers 422 naming that field."""
    account_id = open_account(api)
    spec = api.get(None, "/openapi.json").json()
    checked = 0
    for route, item in spec["paths"].items():
        for method, op in item.items():
            content = op.get("requestBody", {}).get("content", {}).get("application/json")
            if content is None:
                continue
            path = route.replace("{account_id}", account_id).replace("{hold_id}", "hold_x")
            path = path.replace("{letter_id}", "dlq_x")
            for field, body in _string_fields(spec, content["schema"]):
                for who in ("platform", "merchant", "operator"):
                    answer = api.client.request(
                        method.upper(), path, json=body, headers=api.headers(who, "nul-key")
                    )
                    found = problem(answer, 422, "validation_error")
                    named = {e["field"] for e in found["errors"]}  # the field, or its list
                    assert any(field == n or field.startswith(f"{n}.") for n in named), found
                checked += 1
    assert checked >= 30, checked
