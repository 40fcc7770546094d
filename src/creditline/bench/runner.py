"""Run a workload with N concurrent clients for a fixed time and collect latencies.

Every raw or service client is its own process, forked after the imports (so it costs
no start-up and shares no GIL with the others), with its own database connection; it is
the work being measured. HTTP clients only generate load, so a light asyncio generator
(http_load.py) drives all of their connections from at most two processes. Clients warm
up first (connections, caches, prepared plans), wait at a barrier, then run for exactly
`seconds`. Throughput is operations / seconds; latency percentiles come from every
single operation.
"""

from __future__ import annotations

import multiprocessing
import random
import time
from array import array
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier

from creditline.bench.http_load import PROCESSES_MAX, run_connections
from creditline.bench.workloads import WORKLOADS, BenchSpec, worker_seed

WARMUP_S = 1.0
JOIN_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class PhaseResult:
    workload: str
    clients: int
    operations: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int

    @property
    def ops_per_s(self) -> float:
        return self.operations / self.seconds


def _client(
    workload: str,
    spec: BenchSpec,
    seconds: float,
    barrier: Barrier,
    results: multiprocessing.Queue[tuple[int, bytes, int]],
    seed: int,
) -> None:
    random.seed(seed)
    operation = WORKLOADS[workload](spec)
    warm_until = time.monotonic() + WARMUP_S
    while time.monotonic() < warm_until:
        operation()
    barrier.wait()
    latencies = array("d")
    count = errors = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.perf_counter()
        try:
            count += operation()
        except Exception:
            errors += 1
            continue
        latencies.append(time.perf_counter() - started)
    results.put((count, latencies.tobytes(), errors))


def _http_clients(
    workload: str,
    spec: BenchSpec,
    seconds: float,
    barrier: Barrier,
    results: multiprocessing.Queue[tuple[int, bytes, int]],
    seed: int,
    connections: int,
) -> None:
    random.seed(seed)
    mix = workload == "http_mix"
    run_connections(spec, mix=mix, connections=connections, seconds=0, warmup_s=WARMUP_S)
    barrier.wait()
    ok, errors, latencies = run_connections(
        spec, mix=mix, connections=connections, seconds=seconds, warmup_s=0
    )
    results.put((ok, latencies.tobytes(), errors))


def run_phase(workload: str, spec: BenchSpec, *, clients: int, seconds: float) -> PhaseResult:
    context = multiprocessing.get_context("fork")
    results: multiprocessing.Queue[tuple[int, bytes, int]] = context.Queue()
    if workload.startswith("http"):
        # Load generation only: a few light processes drive all `clients` connections.
        shares = _split(clients, min(clients, PROCESSES_MAX))
        barrier = context.Barrier(len(shares))
        processes = [
            context.Process(
                target=_http_clients,
                daemon=True,
                args=(workload, spec, seconds, barrier, results, worker_seed(), share),
            )
            for share in shares
        ]
    else:
        barrier = context.Barrier(clients)
        processes = [
            context.Process(
                target=_client,
                daemon=True,
                args=(workload, spec, seconds, barrier, results, worker_seed()),
            )
            for _ in range(clients)
        ]
    for process in processes:
        process.start()
    collected = [results.get(timeout=JOIN_TIMEOUT_S + seconds) for _ in processes]
    for process in processes:
        process.join(JOIN_TIMEOUT_S)
    operations = sum(count for count, _, _ in collected)
    errors = sum(failed for _, _, failed in collected)
    latencies = array("d")
    for _, raw, _ in collected:
        latencies.frombytes(raw)
    ordered = sorted(latencies)
    return PhaseResult(
        workload=workload,
        clients=clients,
        operations=operations,
        seconds=seconds,
        p50_ms=_percentile(ordered, 0.50),
        p99_ms=_percentile(ordered, 0.99),
        max_ms=ordered[-1] * 1000 if ordered else 0.0,
        errors=errors,
    )


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if index < total % parts else 0) for index in range(parts)]


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, int(fraction * len(ordered)))
    return ordered[index] * 1000
