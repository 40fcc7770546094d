"""A light HTTP load generator for the benchmark's HTTP phases (in the spirit of wrk).

In the raw and service phases each client process *is* the work being measured; in the
HTTP phases the clients only generate load, and on a 2-core machine they compete with
the server for the same cores. So this generator is cheap: keep-alive connections on
asyncio (uvloop when available) in at most `PROCESSES_MAX` processes, requests written
as ready bytes, responses parsed only as far as status line, Content-Length and — for
the mix — the new hold's id.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from array import array
from contextlib import suppress

from creditline.bench.workloads import (
    HOLD_AMOUNT_FEN,
    BenchSpec,
    account_id,
    payment_signals,
)

PROCESSES_MAX = 2
CONNECT_TIMEOUT_S = 10.0


def _request(path: str, body: dict[str, object], host: str, key: str) -> bytes:
    payload = json.dumps(body, separators=(",", ":")).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
        f"Idempotency-Key: {uuid.uuid4().hex}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


def _signals_body() -> dict[str, object]:
    """The same signals as the service rows send (both HTTP rows send them; with risk
    control off the server ignores them)."""
    signals = payment_signals()
    where = signals.location
    assert where is not None
    return {
        "item_categories": list(signals.item_categories),
        "device_id": signals.device_id,
        "ip": signals.ip,
        "location": {"latitude": where.latitude, "longitude": where.longitude, "city": where.city},
    }


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length)


async def _connection(
    spec: BenchSpec, mix: bool, end: float, latencies: array[float], counts: list[int]
) -> None:
    assert spec.http_base is not None
    host, port = spec.http_base.removeprefix("http://").split(":")
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, int(port)), CONNECT_TIMEOUT_S
    )
    key = spec.merchant_key
    try:
        while time.monotonic() < end:
            started = time.perf_counter()
            body = {
                "account_id": account_id(random.randint(1, spec.accounts)),
                "order_id": uuid.uuid4().hex,
                "amount": HOLD_AMOUNT_FEN,
                **_signals_body(),
            }
            writer.write(_request("/v1/holds", body, host, key))
            status, data = await _response(reader)
            if status != 201:
                counts[1] += 1
                continue
            latencies.append(time.perf_counter() - started)
            counts[0] += 1
            if not mix:
                continue
            started = time.perf_counter()
            hold_id = json.loads(data)["id"]
            if random.random() < 0.5:
                request = _request(
                    f"/v1/holds/{hold_id}/captures", {"amount": HOLD_AMOUNT_FEN}, host, key
                )
            else:
                request = _request(f"/v1/holds/{hold_id}/release", {}, host, key)
            writer.write(request)
            status, _ = await _response(reader)
            if status == 200:
                latencies.append(time.perf_counter() - started)
                counts[0] += 1
            else:
                counts[1] += 1
    finally:
        writer.close()
        with suppress(ConnectionError):
            await writer.wait_closed()


async def _run(
    spec: BenchSpec, mix: bool, connections: int, seconds: float, warmup_s: float
) -> tuple[int, int, array[float]]:
    latencies: array[float] = array("d")
    counts = [0, 0]
    warm_end = time.monotonic() + warmup_s
    await asyncio.gather(
        *(_connection(spec, mix, warm_end, array("d"), [0, 0]) for _ in range(connections))
    )
    end = time.monotonic() + seconds
    await asyncio.gather(
        *(_connection(spec, mix, end, latencies, counts) for _ in range(connections))
    )
    return counts[0], counts[1], latencies


def run_connections(
    spec: BenchSpec, *, mix: bool, connections: int, seconds: float, warmup_s: float
) -> tuple[int, int, array[float]]:
    """Run `connections` keep-alive clients in this process; (ok, errors, latencies)."""
    work = _run(spec, mix, connections, seconds, warmup_s)
    try:
        import uvloop  # noqa: PLC0415 - optional speed-up, not on every platform
    except ImportError:
        return asyncio.run(work)
    return uvloop.run(work)
