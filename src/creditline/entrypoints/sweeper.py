"""The expiry sweeper as a background thread (inside `serve`) and as a one-shot loop
(`creditline holds sweep`).

Each tick sweeps bounded batches until no batch comes back full, then sleeps. A failure
is logged and retried next tick; the sweeper never dies silently while the server runs.
"""

from __future__ import annotations

import threading

from prometheus_client import Counter

from creditline.bootstrap import Runtime
from creditline.entrypoints.logs import get_logger
from creditline.service.expiry import SweepResult, sweep

BATCHES_PER_TICK_MAX = 100
"""Bounds one tick's work; the next tick continues where this one stopped."""

HOLDS_EXPIRED = Counter("creditline_holds_expired_total", "Holds released by the sweeper")
SWEEP_FAILURES = Counter("creditline_sweep_failures_total", "Sweeper ticks that failed")

log = get_logger("creditline.sweeper")


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


class SweeperThread:
    def __init__(self, runtime: Runtime, *, interval_s: float, batch_size: int) -> None:
        assert interval_s > 0, interval_s
        self._runtime = runtime
        self._interval_s = interval_s
        self._batch_size = batch_size
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="creditline-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                result = sweep_until_done(self._runtime, batch_size=self._batch_size)
                if result.expired or result.skipped_accounts:
                    log.info("sweep", expired=result.expired, skipped=result.skipped_accounts)
            except Exception:
                SWEEP_FAILURES.inc()
                log.exception("sweep_failed")
            self._stop.wait(self._interval_s)
