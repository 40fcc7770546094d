"""Wiring: build the engine, the unit-of-work factory and the command bus from settings.

Entry points call `bootstrap` once per process; tests call it with their own clock and
database URL. Nothing here runs at import time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from creditline.adapters.clock import SystemClock
from creditline.adapters.db.dev_clock import MovableClock
from creditline.adapters.db.engine import make_engine
from creditline.adapters.db.uow import SqlUnitOfWorkFactory
from creditline.adapters.features import RedisFeatureStore
from creditline.adapters.ids import new_id
from creditline.adapters.risk_policy import policy_source
from creditline.adapters.verifier import LocalVerifier, SignedTokenVerifier
from creditline.config import Settings
from creditline.service.bus import CommandBus
from creditline.service.ports import Clock, IdGenerator
from creditline.service.risk.engine import RiskEngine
from creditline.service.risk.ports import Verifier


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    engine: Engine
    uow_factory: SqlUnitOfWorkFactory
    bus: CommandBus
    clock: Clock
    new_id: IdGenerator
    risk: RiskEngine | None
    verifier: LocalVerifier | SignedTokenVerifier

    def close(self) -> None:
        self.engine.dispose()


def bootstrap(
    settings: Settings, *, clock: Clock | None = None, pool_size: int | None = None
) -> Runtime:
    engine = make_engine(settings, pool_size=pool_size)
    uow_factory = SqlUnitOfWorkFactory(
        engine,
        cache_ttl_s=settings.api_key_cache_ttl_s,
        busy_timeout_s=settings.sqlite_busy_timeout_ms / 1000,
    )
    the_clock = clock if clock is not None else make_clock(settings, engine)
    verifier = make_verifier(settings)
    risk = make_risk_engine(settings, verifier) if settings.risk_enabled else None
    bus = CommandBus(
        uow_factory, the_clock, new_id, risk, serialized_writes=uow_factory.serialized_writes
    )
    return Runtime(
        settings=settings,
        engine=engine,
        uow_factory=uow_factory,
        bus=bus,
        clock=the_clock,
        new_id=new_id,
        risk=risk,
        verifier=verifier,
    )


def make_clock(settings: Settings, engine: Engine) -> Clock:
    """The system clock, or in development the movable one kept in the database."""
    return MovableClock(engine) if settings.clock == "movable" else SystemClock()


def make_verifier(settings: Settings) -> LocalVerifier | SignedTokenVerifier:
    """The step-up verifier the settings name (a server checks `production_problems`)."""
    secret = settings.effective_verifier_secret
    return LocalVerifier(secret) if settings.verifier == "local" else SignedTokenVerifier(secret)


RISK_FEATURE_STORES = ("database", "redis")


def make_risk_engine(settings: Settings, verifier: Verifier) -> RiskEngine:
    """The policy source (a file is reloaded when it changes) and the feature store."""
    if settings.risk_features not in RISK_FEATURE_STORES:
        raise ValueError(
            f"CREDITLINE_RISK_FEATURES={settings.risk_features!r}: expected database or redis"
        )
    source = policy_source(settings.risk_policy)
    shared = (
        RedisFeatureStore.from_url(settings.redis_url, settings.risk_features_prefix)
        if settings.risk_features == "redis"
        else None
    )
    return RiskEngine(source.current, verifier, shared)
