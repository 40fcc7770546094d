"""How bench results are printed: one line per phase as it finishes, ratios to the ceiling."""

from __future__ import annotations

from creditline.bench.core import Row
from creditline.bench.release import PathResult, ReleaseReport

LABELS = {
    "raw": "raw SQL authorize (ceiling)",
    "pgbench": "pgbench, same SQL (C client)",
    "service": "service authorize",
    "service_mix": "service authorize→capture/release",
    "service_risk": "service authorize + risk pipeline",
    "http": "HTTP authorize",
    "http_core": "HTTP authorize, risk control off",
    "http_mix": "HTTP authorize→capture/release",
}


def risk_cost(rows: list[Row]) -> list[str]:
    """Authorize with the risk pipeline beside the core engine alone, per client count."""
    by = {(r.workload, r.clients): r for r in rows}
    pairs = {"service_risk": ("service", "service"), "http": ("http_core", "HTTP")}
    lines = []
    for (workload, clients), with_risk in by.items():
        if workload not in pairs:
            continue
        baseline, where = pairs[workload]
        core = by.get((baseline, clients))
        if core is None or core.ops_per_s == 0:
            continue
        share = with_risk.ops_per_s / core.ops_per_s
        lines.append(
            f"risk pipeline on ({where}), {clients} clients: {with_risk.ops_per_s:,.0f} vs "
            f"{core.ops_per_s:,.0f} ops/s = {share:.0%} of the core engine "
            f"(target ≥ 80%: {'met' if share >= 0.8 else 'NOT met'})"
        )
    return lines


HEADER = (
    "medians over rounds; each ratio is to the raw ceiling measured at the same client "
    "count in the same round"
)


def core_row(row: Row) -> str:
    r = row
    ratio = "" if row.ratio is None else f"  {row.ratio:5.2f}× ceiling"
    errors = f"  errors {r.errors}" if r.errors else ""
    return (
        f"{LABELS[r.workload]:<36} clients {r.clients:>3}  {r.ops_per_s:9,.0f} ops/s  "
        f"p50 {r.p50_ms:6.2f} ms  p99 {r.p99_ms:6.2f} ms  max {r.max_ms:7.1f} ms"
        f"{ratio}{errors}"
    )


RELEASE_LABELS = {
    "direct": "in-process handler (baseline)",
    "broker": "NATS → worker events",
    "http": "HTTP POST /v1/order-events",
}
RELEASE_HEADER = (
    f"{'path':<32} {'sent':>6} {'distinct':>8} {'applied':>7} {'events/s':>9} "
    f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
)


def release_row(r: PathResult) -> str:
    rate = r.applied / r.seconds if r.seconds > 0 else 0.0
    return (
        f"{RELEASE_LABELS[r.name]:<32} {r.sent:>6} {r.distinct:>8} {r.applied:>7} "
        f"{rate:>9,.0f} {r.percentile(0.5):>8,.0f} {r.percentile(0.99):>8,.0f} "
        f"{r.percentile(1.0):>8,.0f}"
    )


def release_summary(report: ReleaseReport) -> list[str]:
    exact = all(p.applied == p.distinct for p in report.paths)
    lines = [
        f"stuck holds (pending past expiry + one sweep interval): {report.stuck} of "
        f"{report.expiring} that expired during the run",
        f"exactly once: {'yes' if exact else 'NO'} (one inbox row per distinct event); "
        f"holds not in their planned state: {report.wrong_holds}",
        f"creditline verify: {'ok' if report.verify_ok else 'MISMATCH'}",
    ]
    return lines + [f"  {problem}" for problem in report.problems]
