"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, a clock, a small world.

SQLite: the schema is migrated once per session into a template file, copied per test.
NATS: the local server (CREDITLINE_TEST_NATS_URL); each test uses its own namespace.
PostgreSQL: a dedicated database (`creditline_test`, or CREDITLINE_TEST_POSTGRES_URL) is
migrated once per session and truncated before each test. Without a reachable server
the PostgreSQL tests skip with a message — except under CI=true, where they fail.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from sqlalchemy import create_engine, make_url, text

from creditline.adapters import nats_events
from creditline.adapters.clock import FixedClock
from creditline.adapters.db.engine import make_engine
from creditline.adapters.db.migrate import upgrade
from creditline.adapters.db.schema import metadata
from creditline.bootstrap import Runtime, bootstrap
from creditline.config import Settings
from creditline.domain.account import Account
from creditline.domain.hold import Hold
from creditline.domain.money import Money
from creditline.service import commands, directory
from creditline.service.access import SYSTEM, Actor, Role
from creditline.service.accounts.queries import AccountView

POSTGRES_URL = os.environ.get(
    "CREDITLINE_TEST_POSTGRES_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/creditline_test",
)
START = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _ensure_postgres_database(url: str) -> str | None:
    """Create the test database if needed; return why PostgreSQL is unusable, or None."""
    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    try:
        conninfo = admin.render_as_string(hide_password=False)
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=3) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)
            ).fetchone()
            if exists is None:
                conn.execute(f'CREATE DATABASE "{parsed.database}"')
    except psycopg.OperationalError as error:
        return f"PostgreSQL at {parsed.host}:{parsed.port} is not reachable: {error}"
    return None


@pytest.fixture(scope="session")
def postgres_url() -> str:
    problem = _ensure_postgres_database(POSTGRES_URL)
    if problem is not None:
        if IN_CI:
            pytest.fail(f"CI=true requires PostgreSQL: {problem}")
        pytest.skip(f"{problem} (set CI=true to make this a failure)")
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    migrated = make_engine(Settings(database_url=POSTGRES_URL))
    upgrade(migrated)
    migrated.dispose()
    return POSTGRES_URL


NATS_URL = os.environ.get("CREDITLINE_TEST_NATS_URL", "nats://127.0.0.1:4222")


def _service(url: str, name: str, default_port: int) -> str:
    """`url` if its server answers; otherwise skip — or fail under CI=true."""
    parsed = urlsplit(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port or default_port), timeout=3).close()
    except OSError as error:
        problem = f"{name} at {parsed.hostname}:{parsed.port} is not reachable: {error}"
        if IN_CI:
            pytest.fail(f"CI=true requires {name}: {problem}")
        pytest.skip(f"{problem} (set CI=true to make this a failure)")
    return url


@pytest.fixture(scope="session")
def nats_url() -> str:
    """The local NATS server (JetStream); tests needing it skip without it, except in CI."""
    return _service(NATS_URL, "NATS", 4222)


REDIS_URL = os.environ.get("CREDITLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The local Redis; tests needing it skip without it, except in CI."""
    return _service(REDIS_URL, "Redis", 6379)


@pytest.fixture
def topology(nats_url: str) -> Iterator[nats_events.Topology]:
    """A NATS namespace of this test's own (stream, subjects, durable), deleted after."""
    topo = nats_events.Topology(f"t{uuid.uuid4().hex[:12]}")
    yield topo

    async def drop() -> None:
        client, js = await nats_events.connect(nats_url, topo)
        await nats_events.delete_stream(js, topo)
        await nats_events.close(client)

    asyncio.run(drop())


@dataclass
class OrderServer:
    """A platform's order system on a local port, speaking the reconciliation protocol."""

    url: str = ""
    orders: dict[str, dict[str, object]] = field(default_factory=dict)
    asked: list[list[str]] = field(default_factory=list)


@pytest.fixture
def order_server() -> Iterator[OrderServer]:
    state = OrderServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.asked.append(body["order_ids"])
            known = {o: state.orders[o] for o in body["order_ids"] if o in state.orders}
            answer = json.dumps({"orders": known}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/orders/status"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(Settings(database_url=f"sqlite:///{path}"))
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def truncate_all(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables}"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "creditline.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("postgres_url")
    truncate_all(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    target = tmp_path / "creditline.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def risk_settings() -> dict[str, str]:
    """The risk settings of `runtime`: every rule in shadow mode (the core engine's tests
    pay many times a second); risk tests override this fixture with real policies."""
    return {"risk_policy": "observe"}


FEATURE_STORES = ["database", pytest.param("redis", marks=pytest.mark.redis)]
"""Parametrize a `risk_settings` fixture over both feature stores with this."""


def features_in(request: pytest.FixtureRequest, policy: str) -> dict[str, str]:
    """Risk settings with `policy` ("" packaged, "observe", a path) and the features in
    the store `request.param` names: the database, or a Redis namespace of the test's own."""
    if request.param == "redis":
        return {
            "risk_policy": policy,
            "risk_features": "redis",
            "redis_url": request.getfixturevalue("redis_url"),
            "risk_features_prefix": f"test:{uuid.uuid4().hex}:",
        }
    return {"risk_policy": policy}


@pytest.fixture
def runtime(
    database_url: str, clock: FixedClock, risk_settings: dict[str, str]
) -> Iterator[Runtime]:
    settings = Settings(database_url=database_url, sweep_interval_s=0, **risk_settings)  # type: ignore[arg-type]
    rt = bootstrap(settings, clock=clock)
    yield rt
    leaked = rt.engine.pool.checkedout()  # type: ignore[attr-defined]
    rt.close()
    assert leaked == 0, f"{leaked} database connections were not returned to the pool"


@dataclass
class World:
    """A platform with two merchants and their actors, on one runtime."""

    runtime: Runtime
    platform: Actor
    merchant: Actor
    other_merchant: Actor
    operator: Actor
    keys: dict[str, str]

    def open_account(self, limit_fen: int = 100_000, ref: str | None = None) -> str:
        view = self.runtime.bus.execute(
            self.platform,
            commands.OpenAccount(
                external_ref=ref or self.runtime.new_id("user"), credit_limit=Money(limit_fen)
            ),
        )
        assert isinstance(view, AccountView)
        return view.account.id

    def authorize(
        self,
        account_id: str,
        fen: int,
        order: str | None = None,
        ttl_s: int | None = None,
        merchant: Actor | None = None,
    ) -> Hold:
        hold = self.runtime.bus.execute(
            merchant or self.merchant,
            commands.Authorize(
                account_id=account_id,
                order_id=order or self.runtime.new_id("order"),
                amount=Money(fen),
                ttl_s=ttl_s,
            ),
        )
        assert isinstance(hold, Hold)
        return hold

    def account(self, account_id: str) -> Account:
        """The account row as stored (balances not adjusted for expired holds)."""
        with self.runtime.uow_factory(write=False) as uow:
            found = uow.accounts.get(account_id)
        assert found is not None, account_id
        return found

    def plant_dead_letter(
        self, *, reason: str, payload: str, letter_id: str | None = None, ref: str | None = None
    ) -> str:
        """An open order-event dead letter of plat_test, written straight to the store (as
        a broker or an older version might have left it); its id."""
        from creditline.service.orders.ports import DeadLetter  # noqa: PLC0415

        rt = self.runtime
        found = letter_id or rt.new_id("dlq")
        with rt.uow_factory(write=True) as uow:
            uow.dead_letters.add(
                DeadLetter(
                    id=found,
                    kind="order_event",
                    platform_id="plat_test",
                    ref=ref or f"{reason}-{found}",
                    reason=reason,
                    detail="planted by a test",
                    payload=payload,
                    created_at=rt.clock.now(),
                )
            )
            uow.commit()
        return found

    def consumer(self, account_id: str) -> Actor:
        return Actor(
            key_id="key_consumer", role=Role.CONSUMER, account_id=account_id, name="consumer"
        )

    def consumer_key(self, account_id: str) -> str:
        with self.runtime.uow_factory(write=True) as uow:
            issued = directory.issue_api_key(
                uow,
                binding=self.consumer(account_id),
                now=self.runtime.clock.now(),
                new_id=self.runtime.new_id,
            )
            uow.commit()
        return issued.key


def make_world(rt: Runtime) -> World:
    now = rt.clock.now()
    bindings = {
        "platform": Actor(key_id="-", role=Role.PLATFORM, platform_id="plat_test", name="shop"),
        "merchant": Actor(
            key_id="-",
            role=Role.MERCHANT,
            platform_id="plat_test",
            merchant_id="mer_one",
            name="one",
        ),
        "other_merchant": Actor(
            key_id="-",
            role=Role.MERCHANT,
            platform_id="plat_test",
            merchant_id="mer_two",
            name="two",
        ),
        "operator": Actor(key_id="-", role=Role.OPERATOR, name="ops"),
    }
    actors: dict[str, Actor] = {}
    keys: dict[str, str] = {}
    with rt.uow_factory(write=True) as uow:
        directory.create_platform(uow, name="Test Shop", now=now, platform_id="plat_test")
        directory.create_merchant(
            uow, platform_id="plat_test", name="One", now=now, merchant_id="mer_one"
        )
        directory.create_merchant(
            uow,
            platform_id="plat_test",
            name="Two",
            now=now,
            merchant_id="mer_two",
            hold_ttl_s=3_600,
        )
        for name, binding in bindings.items():
            issued = directory.issue_api_key(uow, binding=binding, now=now, new_id=rt.new_id)
            actors[name] = issued.record.actor
            keys[name] = issued.key
        uow.commit()
    return World(
        runtime=rt,
        platform=actors["platform"],
        merchant=actors["merchant"],
        other_merchant=actors["other_merchant"],
        operator=actors["operator"],
        keys=keys,
    )


@pytest.fixture
def world(runtime: Runtime) -> World:
    return make_world(runtime)


__all__ = ["START", "SYSTEM", "OrderServer", "World", "make_world"]
