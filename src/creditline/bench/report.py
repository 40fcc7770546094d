"""How bench results are printed: one line per phase as it finishes, ratios to the ceiling."""

from __future__ import annotations

from creditline.bench.core import Row

LABELS = {
    "raw": "raw SQL authorize (ceiling)",
    "pgbench": "pgbench, same SQL (C client)",
    "service": "service authorize",
    "service_mix": "service authorize→capture/release",
    "http": "HTTP authorize",
    "http_mix": "HTTP authorize→capture/release",
}


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
