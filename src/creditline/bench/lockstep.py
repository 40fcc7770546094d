"""`creditline bench lockstep`: one workload's cost against another's, drift cancelled.

The phase bench (core.py) runs each workload for seconds at a time. On a shared host
whose speed drifts by 2× within minutes that buries differences of a few percent, which
is what the risk pipeline's throughput target (≥ 80% of the core engine) is about. Here
each workload gets one client process, kept alive; the processes are driven in turn, in
a fresh random order each round, `ops` operations each; a round's share of a workload is
the first workload's time divided by its own, and the figure is the median over rounds
(with the quartiles, so the noise is visible). Two identical workloads come out within a
few points of 1.00 on the 2-core development machine.

Client CPU per operation is each process's own (`time.process_time`); the database's
is in the server processes and not counted here.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection

from creditline.bench.workloads import WORKLOADS, BenchSpec, worker_seed

ROUND_TIMEOUT_S = 300.0
"""A worker that has not answered a round (or its warm-up) within this is broken."""


@dataclass(frozen=True, slots=True)
class LockstepRow:
    workload: str
    ms_per_op: float
    """Median over rounds of wall time per operation."""
    cpu_ms_per_op: float
    """Median over rounds of the client process's CPU time per operation."""
    share: float
    """Median of per-round ratios: the first workload's time / this one's (1 = as fast)."""
    quartiles: tuple[float, float]
    """The per-round shares' first and third quartiles."""


def _worker(workload: str, spec: BenchSpec, ops: int, seed: int, pipe: Connection) -> None:
    random.seed(seed)
    operation = WORKLOADS[workload](spec)
    for _ in range(ops):  # warm: connection, caches, prepared statements
        operation()
    pipe.send("ready")
    while (count := pipe.recv()) is not None:
        wall, cpu = time.perf_counter(), time.process_time()
        done = 0
        while done < count:
            done += operation()
        pipe.send(((time.perf_counter() - wall) / done, (time.process_time() - cpu) / done))


def check(workloads: Sequence[str], rounds: int) -> None:
    """Refuse what cannot be compared (ValueError), before anything is set up."""
    unknown = [name for name in workloads if name not in WORKLOADS]
    if unknown or len(workloads) < 2 or rounds < 2:
        raise ValueError(
            f"two or more of {', '.join(WORKLOADS)} and two or more rounds are needed, "
            f"not {', '.join(workloads)} × {rounds}"
        )


def run_lockstep(
    spec: BenchSpec,
    workloads: Sequence[str],
    *,
    rounds: int,
    ops: int,
) -> list[LockstepRow]:
    """Each workload's figures; shares are against `workloads[0]`."""
    check(workloads, rounds)
    context = multiprocessing.get_context("fork")
    pipes: list[Connection] = []
    processes = []
    for name in workloads:  # the same workload twice measures the noise
        ours, theirs = context.Pipe()
        process = context.Process(
            target=_worker, args=(name, spec, ops, worker_seed(), theirs), daemon=True
        )
        process.start()
        processes.append(process)
        pipes.append(ours)
    walls: list[list[float]] = [[] for _ in workloads]
    cpus: list[list[float]] = [[] for _ in workloads]
    try:
        for pipe in pipes:
            _receive(pipe)
        order = list(range(len(workloads)))
        for _ in range(rounds):
            random.shuffle(order)
            for n in order:
                pipes[n].send(ops)
                wall, cpu = _receive(pipes[n])
                walls[n].append(wall)
                cpus[n].append(cpu)
    finally:
        for pipe in pipes:
            with contextlib.suppress(OSError):  # a worker that died has no pipe left
                pipe.send(None)
        for process in processes:
            process.join(ROUND_TIMEOUT_S)
    rows = []
    for name, taken, used in zip(workloads, walls, cpus, strict=True):
        shares = [b / w for b, w in zip(walls[0], taken, strict=True)]
        q1, _, q3 = statistics.quantiles(shares, n=4)
        rows.append(
            LockstepRow(
                workload=name,
                ms_per_op=statistics.median(taken) * 1000,
                cpu_ms_per_op=statistics.median(used) * 1000,
                share=statistics.median(shares),
                quartiles=(q1, q3),
            )
        )
    return rows


def _receive(pipe: Connection) -> tuple[float, float]:
    if not pipe.poll(ROUND_TIMEOUT_S):
        raise RuntimeError(f"a bench worker did not answer within {ROUND_TIMEOUT_S:g} s")
    try:
        answer = pipe.recv()
    except EOFError:
        raise RuntimeError("a bench worker failed (its error is above)") from None
    return (0.0, 0.0) if answer == "ready" else answer
