"""The backtest's printout: overall, per fraud pattern and per rule, two policies side by side."""

from __future__ import annotations

from creditline.risk_lab.backtest import Result


def _pct(value: float) -> str:
    return f"{value * 100:6.2f}%"


def _diff(a: float, b: float) -> str:
    return f"{(b - a) * 100:+6.2f} pt"


def report(results: list[Result]) -> list[str]:
    base = results[0]
    cols = "".join(f"  {r.policy_version:>16}" for r in results)
    delta = "  difference" if len(results) == 2 else ""
    lines = [f"{'':<34}{cols}{delta}"]

    def row(label: str, values: list[float]) -> None:
        shown = "".join(f"  {_pct(v):>16}" for v in values)
        change = f"  {_diff(values[0], values[1])}" if len(values) == 2 else ""
        lines.append(f"{label:<34}{shown}{change}")

    row("fraud stopped (decline or challenge)", [r.recall for r in results])
    row("legitimate payments declined", [r.false_decline_rate for r in results])
    row("legitimate payments challenged", [r.challenge_rate for r in results])
    lines.append(
        f"payments: {base.legit + base.fraud:,} ({base.fraud:,} fraud, {base.legit:,} legitimate)"
    )
    for r in results:
        lines.append(
            f"decision latency, pipeline only ({r.policy_version}): "
            f"p50 {r.pipeline_us(0.5):.0f} µs, p99 {r.pipeline_us(0.99):.0f} µs, "
            f"max {r.pipeline_us(1.0):.0f} µs"
        )
    lines.append("fraud stopped by pattern:")
    for pattern in sorted(p for p in base.by_pattern if p != "none"):
        values = [r.by_pattern[pattern][1] / r.by_pattern[pattern][0] for r in results]
        row(f"  {pattern} ({base.by_pattern[pattern][0]})", values)
    lines.append(
        "per rule (reason code): precision = fraud share of its hits; "
        "recall = share of all fraud it hit"
    )
    codes = sorted({code for r in results for code in r.by_rule})
    for code in codes:
        for name, metric in (("precision", "p"), ("recall", "r")):
            values = [
                (r.score(code).precision if metric == "p" else r.rule_recall(code)) for r in results
            ]
            row(f"  {code} {name}", values)
    return lines
