"""Settings: every tunable with its unit, read once from CREDITLINE_* environment variables.

The defaults run the embedded set-up (SQLite file `./creditline.db`, API on
127.0.0.1:8000). Production points CREDITLINE_DATABASE_URL at PostgreSQL, e.g.
`postgresql+psycopg://user@host:5432/creditline`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

DATABASE_URL_DEFAULT = "sqlite:///./creditline.db"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DATABASE_URL_DEFAULT
    host: str = "127.0.0.1"
    port: int = 8000
    db_pool_size: int = 20
    """Connections per process; the API's worker threads share them."""
    db_lock_timeout_ms: int = 3_000
    """A transaction waiting longer than this for a row lock fails (503) instead of queueing."""
    db_statement_timeout_ms: int = 30_000
    sqlite_busy_timeout_ms: int = 5_000
    sweep_interval_s: float = 5.0
    """How often `serve` runs the expiry sweeper; 0 turns the in-process sweeper off."""
    sweep_batch_size: int = 500
    request_body_max_bytes: int = 1_048_576
    """The largest request body the API reads (1 MiB); larger answers 413 before it is
    read. A batch of 1,000 order events with the longest ASCII ids fits (~470 KB)."""
    api_key_cache_ttl_s: float = 30.0
    """How long an authenticated key is trusted without a database lookup (revocation delay)."""
    nats_url: str = "nats://127.0.0.1:4222"
    nats_namespace: str = "creditline"
    """Names the stream, subjects and durable consumer (see `adapters/nats_events.py`)."""
    redis_url: str = "redis://127.0.0.1:6379/0"
    """The shared risk feature store (when chosen; the database is the default)."""
    risk_enabled: bool = True
    """Every authorization passes the risk pipeline; off only for benchmarks' baseline."""
    risk_policy: str = ""
    """A policy TOML file (reloaded when it changes); empty: the packaged default;
    `observe`: the packaged one with every rule in shadow mode (logged, never enforced)."""
    risk_features: str = "database"
    """Where windowed features live: `database` (embedded, default) or `redis` (shared)."""
    risk_features_prefix: str = "creditline:features:"
    """Prefix of the Redis feature store's keys (one per deployment sharing a Redis)."""
    risk_prune_interval_s: float = 3_600.0
    """How often `serve` forgets feature observations past their retention (the database
    store; Redis expires its own); 0: never."""
    verifier_secret: str = "creditline-local-verifier"  # noqa: S105 (development only)
    """The local step-up verifier's secret (development): codes are HMACs of it."""
    event_batch_size: int = 500
    """Order events fetched from the broker at once (at most 1,000)."""
    event_ack_wait_s: float = 30.0
    """An event not acknowledged this long after delivery is delivered again."""
    reconcile_interval_s: float = 600.0
    """How often `creditline worker events` reconciles old pending holds; 0: never."""
    reconcile_after_s: float = 86_400.0
    """Pending holds older than this are checked against the platform's order system."""
    webhook_interval_s: float = 1.0
    """How often `serve` looks for notifications to deliver; 0 turns delivery off."""
    webhook_timeout_s: float = 5.0
    webhook_attempts_max: int = 10
    """Deliveries tried before a notification goes to the dead letters."""
    webhook_backoff_base_s: float = 5.0
    webhook_backoff_max_s: float = 3_600.0
    log_level: str = "info"
    access_log: bool = True
    """One JSON log line per request (route template, status, latency, key id)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read CREDITLINE_<FIELD> variables; a malformed value is a one-line error."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for spec in fields(cls):
            raw = env.get(f"CREDITLINE_{spec.name.upper()}")
            if raw is None:
                continue
            kind = type(getattr(cls(), spec.name))
            try:
                values[spec.name] = _parse_bool(raw) if kind is bool else kind(raw)
            except ValueError as error:
                raise ValueError(
                    f"CREDITLINE_{spec.name.upper()}={raw!r} is not a valid {kind.__name__}"
                ) from error
        return cls(**values)  # type: ignore[arg-type]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)
