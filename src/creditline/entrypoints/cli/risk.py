"""`creditline risk …`: the risk policy from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from creditline.adapters.risk_policy import load_policy
from creditline.adapters.verifier import LocalVerifier
from creditline.domain.limits import AMOUNT_MAX
from creditline.domain.money import ZERO, Money
from creditline.domain.risk.explain import choose_language
from creditline.domain.risk.inputs import Location
from creditline.domain.risk.policy import Policy, PolicyError
from creditline.entrypoints.cli.common import (
    cli_operator,
    err,
    fail,
    load_settings,
    out,
    runtime,
    show_rows,
)
from creditline.risk_lab.bursts import BASKET_GAP_MEAN_S
from creditline.service.commands import ExplainPayment, Signals
from creditline.service.risk.feature_store import FEATURE_RETENTION_S

risk_app = typer.Typer(help="Risk control: the policy and its rules.", no_args_is_help=True)


@risk_app.command("policy")
def policy(
    file: Annotated[
        Path | None,
        typer.Argument(dir_okay=False, help="A policy file (default: the packaged one)"),
    ] = None,
) -> None:
    """Validate a policy file and show its version, thresholds by tier and shadow rules."""
    try:
        loaded = load_policy(file)
    except PolicyError as error:
        raise fail(f"invalid policy: {error}") from None
    out.print(f"policy {file or 'default'} ok · version {loaded.version}", highlight=False)
    rows = [
        (
            name,
            limits.per_transaction_max.format(),
            limits.day_amount_max.format(),
            str(limits.day_count_max),
            limits.month_amount_max.format(),
            str(limits.month_count_max),
        )
        for name, limits in loaded.tiers.items()
    ]
    show_rows(("tier", "max payment", "per day", "count/day", "per month", "count/month"), rows)
    for line in _velocity_lines(loaded):
        out.print(line, highlight=False)
    shadow = ", ".join(sorted(loaded.shadow)) or "none"
    out.print(f"shadow rules: {shadow}", highlight=False)


def _velocity_lines(p: Policy) -> list[str]:
    window = p.velocity_window_s
    lines = [
        f"declined past {p.account_attempts_max} attempts in {window} s per account, "
        f"{p.device_attempts_max} per device, {p.ip_attempts_max} per IP",
        f"verified past {p.burst_attempts_max} attempts within {p.burst_window_s} s",
    ]
    if p.sustained_attempts_max is not None:
        lines.append(
            f"verified past {p.sustained_attempts_max} attempts in {window} s, not all in one burst"
        )
    if p.new_device_attempts_max is not None:
        lines.append(
            f"verified past {p.new_device_attempts_max} attempts in {window} s on a device "
            "new to the account"
        )
    return lines


@risk_app.command("backtest")
def backtest_command(
    traffic: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="From `simulate`")],
    policy_file: Annotated[
        Path | None, typer.Option("--policy", help="Policy to test (default: packaged)")
    ] = None,
    compare: Annotated[
        Path | None, typer.Option(help="A second policy, shown beside the first")
    ] = None,
) -> None:
    """Replay labelled traffic through one or two policies: fraud stopped, false declines,
    challenges, per pattern and per rule (precision and recall)."""
    from creditline.risk_lab.backtest import backtest  # noqa: PLC0415
    from creditline.risk_lab.report import report  # noqa: PLC0415
    from creditline.risk_lab.simulate import from_jsonl  # noqa: PLC0415

    try:
        policies = [load_policy(policy_file)] + ([load_policy(compare)] if compare else [])
    except PolicyError as error:
        raise fail(f"invalid policy: {error}") from None
    try:
        payments = from_jsonl(traffic.read_text(encoding="utf-8"))
    except (ValueError, TypeError) as error:
        raise fail(f"{traffic}: not a traffic file from `creditline simulate` ({error})") from None
    results = [backtest(policy, payments) for policy in policies]
    for line in report(results):
        out.print(line, highlight=False)


def _numbers(option: str, text: str, minimum: int) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise fail(f"{option} {text!r}: expected whole numbers separated by commas") from None
    if not values or min(values) < minimum:
        raise fail(f"{option} {text!r}: expected whole numbers of at least {minimum}")
    return values


@risk_app.command("sweep")
def sweep_command(
    seeds: Annotated[str, typer.Option(help="Simulation seeds, comma-separated")] = "1,2,3,4,5",
    users: Annotated[
        str, typer.Option(help="Population sizes, comma-separated (each with every seed)")
    ] = "500,1500",
    days: Annotated[int, typer.Option(min=3, max=365)] = 30,
    policy_file: Annotated[
        Path | None, typer.Option("--policy", help="Policy to test (default: packaged)")
    ] = None,
    compare: Annotated[
        Path | None, typer.Option(help="A second policy, shown beside the first")
    ] = None,
    basket_gap_s: Annotated[
        float, typer.Option(min=0.01, max=60, help="Mean seconds between a basket's orders")
    ] = BASKET_GAP_MEAN_S,
) -> None:
    """How much the backtest's figures move with the traffic: simulate every seed at
    every population size, replay each through one or two policies, and print each
    figure's mean and min–max (fraud stopped, false declines, challenges; per pattern)."""
    from rich.progress import Progress  # noqa: PLC0415

    from creditline.risk_lab.simulate import Scenario  # noqa: PLC0415
    from creditline.risk_lab.sweep import sweep, sweep_report  # noqa: PLC0415

    seed_list = _numbers("--seeds", seeds, 0)
    size_list = _numbers("--users", users, 10)
    try:
        policies = [load_policy(policy_file)] + ([load_policy(compare)] if compare else [])
    except PolicyError as error:
        raise fail(f"invalid policy: {error}") from None
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("simulating and replaying", total=len(seed_list) * len(size_list))
        found = sweep(
            policies,
            seed_list,
            size_list,
            days,
            on_run=lambda _users, _seed: progress.advance(task),
            base=Scenario(basket_gap_mean_s=basket_gap_s),
        )
    for line in sweep_report(found):
        out.print(line, highlight=False)


def simulate_command(
    out_file: Annotated[Path, typer.Option("--out", dir_okay=False, help="JSON lines to write")],
    seed: Annotated[int, typer.Option(help="Same seed, same file")] = 7,
    users: Annotated[int, typer.Option(min=10, help="Legitimate users")] = 1_500,
    days: Annotated[int, typer.Option(min=3, max=365)] = 30,
    basket_gap_s: Annotated[
        float, typer.Option(min=0.01, max=60, help="Mean seconds between a basket's orders")
    ] = BASKET_GAP_MEAN_S,
) -> None:
    """Generate labelled payment traffic: legitimate users (everyday shopping, multi-order
    baskets, households on one network, new phones, split orders) plus injected fraud
    (cash-out, account takeover with a location jump, scripted velocity, card testing)."""
    from creditline.risk_lab.simulate import Scenario, simulate, to_jsonl  # noqa: PLC0415

    base = Scenario(basket_gap_mean_s=basket_gap_s)
    scenario = base.scaled(seed=seed, users=users, days=days)
    traffic = simulate(scenario)
    out_file.write_text(to_jsonl(traffic), encoding="utf-8")
    fraud = sum(p.label == "fraud" for p in traffic)
    out.print(f"wrote {len(traffic):,} payments ({fraud:,} fraud) to {out_file}", highlight=False)


def explain_command(
    account_id: Annotated[str, typer.Argument(help="The account that would pay")],
    amount: Annotated[str, typer.Option(help="Amount in yuan, e.g. 6200.00")],
    merchant: Annotated[str, typer.Option(help="The merchant id")],
    device: Annotated[str | None, typer.Option(help="Device id")] = None,
    ip: Annotated[str | None, typer.Option(help="IP address")] = None,
    city: Annotated[str | None, typer.Option(help="City (with --lat and --lon)")] = None,
    lat: Annotated[float | None, typer.Option(min=-90, max=90)] = None,
    lon: Annotated[float | None, typer.Option(min=-180, max=180)] = None,
    category: Annotated[
        list[str] | None, typer.Option(help="An item category (repeatable), e.g. gift_card")
    ] = None,
    lang: Annotated[str, typer.Option(help="zh-CN or en")] = "zh-CN",
) -> None:
    """Would this payment pass, and if not, why? The risk pipeline as a dry run: the
    decision, every reason with its numbers and remedy; nothing is written."""
    from creditline.domain.risk.explain import explain  # noqa: PLC0415
    from creditline.service.risk.queries import explain_payment  # noqa: PLC0415

    try:
        money = Money.from_yuan(amount)
    except (ValueError, ArithmeticError):
        raise fail(f"--amount {amount!r} is not an amount in yuan (e.g. 6200.00)") from None
    if not ZERO < money <= AMOUNT_MAX:
        raise fail(f"--amount must be more than ¥0.00 and at most {AMOUNT_MAX}")
    if (lat is None) != (lon is None):
        raise fail("give --lat and --lon together")
    language = choose_language(lang)
    where = None if lat is None or lon is None else Location(lat, lon, city)
    signals = Signals(
        item_categories=tuple(category or ()), device_id=device, ip=ip, location=where
    )
    with runtime() as rt:
        if rt.risk is None:
            raise fail("risk control is off (CREDITLINE_RISK_ENABLED=false)")
        with rt.uow_factory(write=False) as uow:
            found = explain_payment(
                uow,
                rt.bus.context(cli_operator()),
                rt.risk,
                ExplainPayment(account_id, money, merchant_id=merchant, signals=signals),
            )
    decision = found.assessment.decision
    verdict = "would pass" if found.would_pass else "would NOT pass"
    out.print(
        f"{money.format()} from {account_id}: {verdict} · action {decision.action.value} · "
        f"available {found.available.format()} · policy {decision.policy_version} · "
        f"{found.assessment.latency_us} µs",
        highlight=False,
    )
    for hit in decision.hits:
        text = explain(hit, language)
        mark = " (shadow)" if hit.shadow else ""
        out.print(f"- {hit.action.value} {hit.code}{mark}: {text.message} {text.remedy}")


@risk_app.command("decisions")
def decisions_command(
    account_id: Annotated[str, typer.Argument(help="The account")],
    limit: Annotated[int, typer.Option(min=1, max=200)] = 20,
) -> None:
    """An account's risk decisions, newest first: action, reason codes, amount, latency."""
    from creditline.service.risk.queries import account_decisions  # noqa: PLC0415

    with runtime() as rt, rt.uow_factory(write=False) as uow:
        page = account_decisions(uow, rt.bus.context(cli_operator()), account_id, None, limit)
    rows = [
        (
            d.at.isoformat(timespec="seconds"),
            d.action.value,
            d.amount.format(),
            ", ".join(d.codes) or "-",
            d.order_id,
            d.hold_id or d.challenge_id or "-",
            str(d.latency_us),
            d.policy_version,
        )
        for d in page.items
    ]
    show_rows(("at", "action", "amount", "codes", "order", "hold", "µs", "policy"), rows)
    if not rows:
        out.print(f"no risk decisions for {account_id}", highlight=False)


@risk_app.command("prune")
def prune_command() -> None:
    """Forget feature observations past their retention now (the database store; `serve`
    does it every CREDITLINE_RISK_PRUNE_INTERVAL_S, and Redis expires its own)."""
    from creditline.entrypoints.background import prune_observations  # noqa: PLC0415

    with runtime() as rt:
        result = prune_observations(rt)
    days = FEATURE_RETENTION_S // 86_400
    out.print(f"pruned {result.pruned:,} observations older than {days} days", highlight=False)


@risk_app.command("challenge-code")
def challenge_code(
    challenge_id: Annotated[str, typer.Argument(help="From challenge_required")],
) -> None:
    """The local verifier's code for a challenge (development: what an SMS would carry)."""
    settings = load_settings()
    if not settings.development or settings.verifier != "local":
        raise fail(
            "challenge codes come from the local verifier, which works only in development "
            "mode (CREDITLINE_MODE=development, CREDITLINE_VERIFIER=local)"
        )
    verifier = LocalVerifier(settings.effective_verifier_secret)
    out.print(verifier.token_for(challenge_id), highlight=False)
