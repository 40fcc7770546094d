"""Settings: every tunable with its unit, read once from CREDITLINE_* environment variables.

The defaults run the embedded set-up (SQLite file `./creditline.db`, API on
127.0.0.1:8000). Production points CREDITLINE_DATABASE_URL at PostgreSQL, e.g.
`postgresql+psycopg://user@host:5432/creditline`.

`mode` is `production` unless set to `development` (`make run` does). Development
shortcuts — the local step-up verifier whose codes anyone with the source can compute,
built-in secrets, the demo's published API keys — work only in development mode: a
server started in production mode with any of them refuses to start, naming the setting
(`production_problems`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from creditline.domain.order_events import EVENT_AGE_S_MAX_DEFAULT, EVENT_FUTURE_SKEW_S_DEFAULT

DATABASE_URL_DEFAULT = "sqlite:///./creditline.db"
MODES = ("development", "production")
VERIFIERS = ("local", "signed")
CLOCKS = ("system", "movable")
VERIFIER_SECRET_LENGTH_MIN = 32
"""Characters a production verifier secret needs at least (e.g. 32 random URL-safe bytes)."""
DEVELOPMENT_VERIFIER_SECRET = "creditline-local-verifier"  # noqa: S105 (development only, public)


@dataclass(frozen=True, slots=True)
class Settings:
    mode: str = "production"
    """`development` allows the local verifier, built-in secrets and the demo's keys."""
    database_url: str = DATABASE_URL_DEFAULT
    clock: str = "system"
    """`movable` (development only): the wall clock plus an offset an operator moves
    forward (`creditline clock advance`), shared by every process on the database."""
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
    verifier: str = "local"
    """Step-up verification: `local` (development: six-digit codes printed by `creditline
    risk challenge-code`) or `signed` (production: the platform's verification service
    proves a pass with a token, hex HMAC-SHA256 of the challenge id under the secret)."""
    verifier_secret: str = ""
    """The verifier's secret; empty in development mode means the built-in public one."""
    event_future_skew_s: float = float(EVENT_FUTURE_SKEW_S_DEFAULT)
    """An order event may say it happened at most this far ahead of our clock."""
    event_age_s_max: float = float(EVENT_AGE_S_MAX_DEFAULT)
    """…and at most this long ago; outside, the event is refused (HTTP 422, or a dead
    letter from the broker) before it is applied."""
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

    def __post_init__(self) -> None:
        for name, allowed in (("mode", MODES), ("verifier", VERIFIERS), ("clock", CLOCKS)):
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(
                    f"CREDITLINE_{name.upper()}={value!r}: expected one of {', '.join(allowed)}"
                )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def development(self) -> bool:
        return self.mode == "development"

    @property
    def effective_verifier_secret(self) -> str:
        """The secret in use: the configured one, or in development the built-in one."""
        if not self.verifier_secret and self.development:
            return DEVELOPMENT_VERIFIER_SECRET
        return self.verifier_secret

    def production_problems(self) -> list[str]:
        """Why a server may not start with these settings outside development mode."""
        if self.development:
            return []
        problems = []
        if self.clock == "movable":
            problems.append(
                "CREDITLINE_CLOCK=movable lets an operator move the engine's time: it exists "
                "only in development mode; unset it (the system clock) in production"
            )
        if self.verifier == "local":
            problems.append(
                "CREDITLINE_VERIFIER=local is the development verifier (anyone with the source "
                "can compute its codes): set CREDITLINE_VERIFIER=signed and "
                "CREDITLINE_VERIFIER_SECRET, or CREDITLINE_MODE=development on a laptop"
            )
        secret = self.verifier_secret
        if not secret or secret == DEVELOPMENT_VERIFIER_SECRET:
            found = "not set" if not secret else "the built-in development secret"
        elif len(secret) < VERIFIER_SECRET_LENGTH_MIN:
            found = f"only {len(secret)} characters long"
        else:
            found = ""
        if found:
            problems.append(
                f"CREDITLINE_VERIFIER_SECRET is {found}: production needs a secret of at least "
                f"{VERIFIER_SECRET_LENGTH_MIN} random characters (e.g. python -c 'import "
                "secrets; print(secrets.token_urlsafe(32))')"
            )
        return problems


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)
