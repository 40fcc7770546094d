"""The backtest's printout: overall, per pattern and per rule, two policies side by side.

Fraud patterns show how much of their payments and money was stopped; legitimate
patterns (`none` is everyday shopping) how many were declined and how many challenged,
so a policy that refuses baskets or households shows it where it happens.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from creditline.risk_lab.backtest import PatternScore, Result

LABEL_WIDTH = 40
CODES_SHOWN = 4


def _pct(value: float) -> str:
    return f"{value * 100:6.2f}%"


def _diff(a: float, b: float) -> str:
    return f"{(b - a) * 100:+6.2f} pt"


def patterns(results: list[Result], label: str) -> list[str]:
    """The patterns with this label in any of the results, sorted (`none` first)."""
    found = {name for r in results for name, s in r.by_pattern.items() if s.label == label}
    return sorted(found, key=lambda name: (name != "none", name))


def _common(codes: Counter[str]) -> str:
    return ", ".join(f"{code} {n:,}" for code, n in codes.most_common(CODES_SHOWN)) or "-"


def _score(result: Result, pattern: str) -> PatternScore:
    return result.by_pattern.get(pattern) or PatternScore("")


def report(results: list[Result]) -> list[str]:
    base = results[0]
    cols = "".join(f"  {r.policy_version:>16}" for r in results)
    delta = "  difference" if len(results) == 2 else ""
    lines = [f"{'':<{LABEL_WIDTH}}{cols}{delta}"]

    def row(label: str, values: list[float]) -> None:
        shown = "".join(f"  {_pct(v):>16}" for v in values)
        change = f"  {_diff(values[0], values[1])}" if len(values) == 2 else ""
        lines.append(f"{label:<{LABEL_WIDTH}}{shown}{change}")

    def per_pattern(pattern: str, name: str, metric: Callable[[PatternScore], float]) -> None:
        count = _score(base, pattern).payments
        row(f"  {pattern} ({count:,}) {name}", [metric(_score(r, pattern)) for r in results])

    row("fraud stopped (decline or challenge)", [r.recall for r in results])
    row("fraud money stopped", [r.money_recall for r in results])
    row("legitimate payments declined", [r.false_decline_rate for r in results])
    row("legitimate payments challenged", [r.challenge_rate for r in results])
    row("  of which for velocity: declined", [r.velocity_decline_rate for r in results])
    row("  of which for velocity: challenged", [r.velocity_challenge_rate for r in results])
    lines.append(
        f"payments: {base.legit + base.fraud:,} ({base.fraud:,} fraud, {base.legit:,} legitimate)"
    )
    for r in results:
        lines.append(
            f"decision latency, pipeline only ({r.policy_version}): "
            f"p50 {r.pipeline_us(0.5):.0f} µs, p99 {r.pipeline_us(0.99):.0f} µs, "
            f"max {r.pipeline_us(1.0):.0f} µs"
        )
    lines.append("fraud stopped by pattern (payments, money):")
    for pattern in patterns(results, "fraud"):
        per_pattern(pattern, "stopped", lambda s: s.stopped_rate)
        per_pattern(pattern, "money stopped", lambda s: s.stopped_money_rate)
    lines.append("legitimate payments by pattern (none: everyday shopping):")
    for pattern in patterns(results, "legit"):
        per_pattern(pattern, "declined", lambda s: s.declined_rate)
        per_pattern(pattern, "challenged", lambda s: s.challenged_rate)
    lines.append("what refused legitimate payments (deciding codes, most frequent first):")
    for pattern in patterns(results, "legit"):
        for r in results:
            score = _score(r, pattern)
            lines.append(
                f"  {pattern} ({r.policy_version}): declined by {_common(score.declined_by)}; "
                f"challenged by {_common(score.challenged_by)}"
            )
    lines.append(
        "per rule (reason code): precision = fraud share of its hits; "
        "recall = share of all fraud it hit"
    )
    codes = sorted({code for r in results for code in r.by_rule})
    for code in codes:
        row(f"  {code} precision", [r.score(code).precision for r in results])
        row(f"  {code} recall", [r.rule_recall(code) for r in results])
    return lines
