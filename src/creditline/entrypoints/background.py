"""Background work inside `serve`: the expiry sweeper, webhook delivery and pruning of
old risk feature observations.

Each runs as a `PeriodicThread`: a tick does bounded batches until one comes back not
full, then the thread sleeps `interval_s`. A failure is logged, counted and retried on
the next tick; background work never dies silently while the server runs. The same
tick functions back the one-shot CLI commands (`creditline holds sweep`,
`creditline worker webhooks`).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from datetime import timedelta

from prometheus_client import Counter

from creditline.adapters.features import SqlFeatureStore
from creditline.bootstrap import Runtime
from creditline.entrypoints.logs import get_logger
from creditline.service.holds.expiry import SweepResult, sweep
from creditline.service.notifications.ports import WebhookSender
from creditline.service.notifications.webhooks import DispatchResult, RetryPolicy, dispatch
from creditline.service.risk.feature_store import FEATURE_RETENTION_S

BATCHES_PER_TICK_MAX = 100
"""Bounds one tick's work; the next tick continues where this one stopped."""

HOLDS_EXPIRED = Counter("creditline_holds_expired_total", "Holds released by the sweeper")
WEBHOOKS = Counter("creditline_webhook_deliveries_total", "Webhook delivery attempts", ["outcome"])
OBSERVATIONS_PRUNED = Counter(
    "creditline_risk_observations_pruned_total", "Feature observations past their retention"
)
TICK_FAILURES = Counter(
    "creditline_background_failures_total", "Background ticks that failed", ["task"]
)

log = get_logger("creditline.background")


def sweep_until_done(
    runtime: Runtime, *, batch_size: int, batches_max: int = BATCHES_PER_TICK_MAX
) -> SweepResult:
    """Sweep batches until one is not full (or `batches_max`); returns the totals."""
    expired = skipped = 0
    more = True
    for _ in range(batches_max):
        result = sweep(
            runtime.uow_factory,
            now=runtime.clock.now(),
            new_id=runtime.new_id,
            batch_size=batch_size,
        )
        expired += result.expired
        skipped += result.skipped_accounts
        HOLDS_EXPIRED.inc(result.expired)
        more = result.more
        if not more:
            break
    return SweepResult(expired=expired, skipped_accounts=skipped, more=more)


def retry_policy(runtime: Runtime) -> RetryPolicy:
    settings = runtime.settings
    return RetryPolicy(
        attempts_max=settings.webhook_attempts_max,
        base_s=settings.webhook_backoff_base_s,
        cap_s=settings.webhook_backoff_max_s,
    )


def deliver_until_done(
    runtime: Runtime,
    sender: WebhookSender,
    rng: random.Random,
    batches_max: int = BATCHES_PER_TICK_MAX,
) -> DispatchResult:
    """Deliver due notifications in batches until a batch is not full."""
    delivered = retried = dead = 0
    policy = retry_policy(runtime)
    for _ in range(batches_max):
        result = dispatch(
            runtime.uow_factory,
            sender,
            now=runtime.clock.now(),
            new_id=runtime.new_id,
            policy=policy,
            rng=rng,
        )
        delivered, retried, dead = (
            delivered + result.delivered,
            retried + result.retried,
            dead + result.dead,
        )
        for outcome in ("delivered", "retried", "dead"):
            WEBHOOKS.labels(outcome).inc(getattr(result, outcome))
        if result.claimed == 0:
            break
    return DispatchResult(delivered, retried, dead)


@dataclass(frozen=True, slots=True)
class PruneResult:
    pruned: int


def prune_observations(runtime: Runtime) -> PruneResult:
    """Forget the database feature store's observations past their retention (Redis
    expires its own keys): no window reaches back that far."""
    before = runtime.clock.now() - timedelta(seconds=FEATURE_RETENTION_S)
    pruned = SqlFeatureStore(runtime.engine).prune(before)
    OBSERVATIONS_PRUNED.inc(pruned)
    return PruneResult(pruned)


def _counted_something(result: object) -> bool:
    """A tick is worth a log line when any count in its result (a dataclass of counts
    and flags) is not zero — whatever the task."""
    if not is_dataclass(result):
        return False
    counts = (getattr(result, f.name) for f in fields(result))
    return any(isinstance(n, int) and not isinstance(n, bool) and n != 0 for n in counts)


class PeriodicThread:
    def __init__(self, name: str, interval_s: float, tick: Callable[[], object]) -> None:
        assert interval_s > 0, interval_s
        self._name = name
        self._interval_s = interval_s
        self._tick = tick
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"creditline-{name}", daemon=True)

    @property
    def name(self) -> str:
        return self._name

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                result = self._tick()
                if _counted_something(result):
                    log.info(self._name, result=repr(result))
            except Exception:
                TICK_FAILURES.labels(self._name).inc()
                log.exception(f"{self._name}_failed")
            self._stop.wait(self._interval_s)
