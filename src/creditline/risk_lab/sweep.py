"""`creditline risk sweep`: how much the backtest's figures move with the traffic.

Each (users, seed) is simulated once and replayed through every policy; each figure —
fraud stopped (payments and money), false declines and challenges, overall and per
pattern — is summarised as its mean and its range across the runs. A threshold tuned to
one seed shows up here as a wide range instead of a good number.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from creditline.domain.risk.policy import Policy
from creditline.risk_lab.backtest import Result, backtest
from creditline.risk_lab.report import patterns
from creditline.risk_lab.simulate import Scenario, simulate

OVERALL = (
    "fraud stopped (decline or challenge)",
    "fraud money stopped",
    "legitimate payments declined",
    "legitimate payments challenged",
    "legitimate declined for velocity",
    "legitimate challenged for velocity",
)


@dataclass(frozen=True, slots=True)
class Spread:
    mean: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        assert values
        return cls(sum(values) / len(values), min(values), max(values))


def figures(result: Result) -> dict[str, float]:
    """One backtest's figures by name, overall then per pattern (fraud, then legitimate)."""
    found = dict(
        zip(
            OVERALL,
            (
                result.recall,
                result.money_recall,
                result.false_decline_rate,
                result.challenge_rate,
                result.velocity_decline_rate,
                result.velocity_challenge_rate,
            ),
            strict=True,
        )
    )
    for name in patterns([result], "fraud"):
        score = result.by_pattern[name]
        found[f"{name} stopped"] = score.stopped_rate
        found[f"{name} money stopped"] = score.stopped_money_rate
    for name in patterns([result], "legit"):
        score = result.by_pattern[name]
        found[f"{name} declined"] = score.declined_rate
        found[f"{name} challenged"] = score.challenged_rate
        found[f"{name} declined for velocity"] = score.share(score.velocity_declined)
        found[f"{name} challenged for velocity"] = score.share(score.velocity_challenged)
    return found


@dataclass
class Sweep:
    versions: list[str]
    runs: list[tuple[int, int]] = field(default_factory=list)
    """(users, seed) of each run, in order."""
    results: list[list[dict[str, float]]] = field(default_factory=list)
    """Per run, per policy: its figures."""
    payments: list[tuple[int, int]] = field(default_factory=list)
    """Per run: (legitimate, fraud) payments."""

    def names(self) -> list[str]:
        """Every figure's name, in the order the first run that has it lists it."""
        seen: dict[str, None] = {}
        for run in self.results:
            for found in run:
                seen |= dict.fromkeys(found)
        return list(seen)

    def spread(self, policy: int, name: str) -> Spread | None:
        values = [run[policy][name] for run in self.results if name in run[policy]]
        return Spread.of(values) if values else None


def sweep(
    policies: Sequence[Policy],
    seeds: Sequence[int],
    users: Sequence[int],
    days: int,
    on_run: Callable[[int, int], None] | None = None,
    base: Scenario | None = None,
) -> Sweep:
    """Every (users, seed) through every policy, the scenario `base` (default: the
    default one) scaled to each; `on_run(users, seed)` after each run."""
    found = Sweep([p.version for p in policies])
    for count in users:
        for seed in seeds:
            scenario = (base or Scenario()).scaled(seed=seed, users=count, days=days)
            traffic = simulate(scenario)
            results = [backtest(policy, traffic) for policy in policies]
            found.runs.append((count, seed))
            found.results.append([figures(r) for r in results])
            found.payments.append((results[0].legit, results[0].fraud))
            if on_run is not None:
                on_run(count, seed)
    return found


def _cell(spread: Spread | None) -> str:
    if spread is None:
        return f"{'-':>24}"
    low, high = spread.low * 100, spread.high * 100
    return f"{spread.mean * 100:7.2f}% ({low:6.2f}–{high:6.2f})"


def sweep_report(found: Sweep) -> list[str]:
    seeds = sorted({seed for _, seed in found.runs})
    sizes = sorted({users for users, _ in found.runs})
    legit = [n for n, _ in found.payments]
    fraud = [n for _, n in found.payments]
    lines = [
        f"{len(found.runs)} runs: seeds {', '.join(map(str, seeds))} × users "
        f"{', '.join(f'{n:,}' for n in sizes)}; payments per run {min(legit):,}–{max(legit):,} "
        f"legitimate, {min(fraud):,}–{max(fraud):,} fraud",
        "each figure: mean across runs (min–max)",
        f"{'':<36}" + "".join(f"  {v:>24}" for v in found.versions),
    ]
    names = found.names()
    for n, name in enumerate(names):
        if n == len(OVERALL):
            lines.append("per pattern (fraud: stopped; legitimate: declined, challenged):")
        label = name if name in OVERALL else f"  {name}"
        cells = "".join(f"  {_cell(found.spread(i, name))}" for i in range(len(found.versions)))
        lines.append(f"{label:<36}{cells}")
    return lines
