"""CLI commands for the order lifecycle: workers, reconciliation, events, dead letters.

creditline worker events           apply order events from NATS (and reconcile)
creditline worker webhooks         deliver notifications to platforms' webhooks
creditline holds reconcile         ask order systems about old pending holds, once
creditline events publish FILE     send order events (JSON lines) through NATS
creditline events dead-letters     list what could not be applied or delivered
creditline events replay ID        apply a dead-lettered order event again (audited)

(A platform's webhook and order-status URLs are set with `creditline admin`.)
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from creditline.entrypoints.cli.common import cli_operator, fail, out, runtime, show_rows

worker_app = typer.Typer(help="Long-running workers (stop with Ctrl-C or SIGTERM).")
events_app = typer.Typer(help="Order events through the broker, and dead letters.")

PUBLISH_EVENTS_MAX = 1_000_000


@worker_app.command("events")
def worker_events() -> None:
    """Apply order events from NATS JetStream (ack after commit); reconcile periodically."""
    from creditline.entrypoints import event_worker  # noqa: PLC0415
    from creditline.entrypoints.logs import configure  # noqa: PLC0415

    with runtime() as rt:
        configure(rt.settings.log_level)
        out.print(
            f"applying order events from {rt.settings.nats_url} "
            f"(namespace {rt.settings.nats_namespace}); Ctrl-C stops after the batch in flight"
        )
        event_worker.main(rt)


@worker_app.command("webhooks")
def worker_webhooks(
    once: Annotated[bool, typer.Option(help="Deliver what is due now, then exit")] = False,
) -> None:
    """Deliver notifications to the platforms' webhooks: signed, retried with backoff."""
    from creditline.adapters.webhook_http import HttpWebhookSender  # noqa: PLC0415
    from creditline.entrypoints.background import deliver_until_done  # noqa: PLC0415

    with runtime() as rt:
        sender = HttpWebhookSender(rt.settings.webhook_timeout_s)
        rng = random.Random()  # noqa: S311 - jitter, not secrets
        try:
            while True:
                result = deliver_until_done(rt, sender, rng)
                if once:
                    out.print(
                        f"delivered {result.delivered}, to retry {result.retried}, "
                        f"dead-lettered {result.dead}"
                    )
                    return
                time.sleep(max(rt.settings.webhook_interval_s, 0.1))
        except KeyboardInterrupt:
            return
        finally:
            sender.close()


def holds_reconcile(
    older_than_s: Annotated[
        float | None,
        typer.Option(
            min=0, help="Pending holds older than this (default CREDITLINE_RECONCILE_AFTER_S)"
        ),
    ] = None,
) -> None:
    """Ask the platforms' order systems about old pending holds and apply what they say."""
    from creditline.adapters.order_system import HttpOrderSystem  # noqa: PLC0415
    from creditline.service.orders.reconcile import reconcile  # noqa: PLC0415

    with runtime() as rt:
        system = HttpOrderSystem(rt.settings.webhook_timeout_s)
        try:
            report = reconcile(
                rt.uow_factory,
                lambda careful: rt.bus.context(cli_operator(), careful=careful),
                system,
                now=rt.clock.now(),
                older_than_s=rt.settings.reconcile_after_s
                if older_than_s is None
                else older_than_s,
            )
        finally:
            system.close()
    for line in report.corrections:
        out.print(f"  corrected: {line}", highlight=False)
    for line in report.failures:
        out.print(f"  [yellow]failed[/yellow]: {line}", highlight=False)
    out.print(
        f"checked {report.checked} holds: {report.corrected} corrected, {report.unchanged} "
        f"unchanged, {report.not_configured} on platforms without an order-status URL, "
        f"{len(report.failures)} failures"
    )


@events_app.command("publish")
def events_publish(
    platform_id: str,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON lines")],
) -> None:
    """Publish order events (one JSON object per line, as in POST /v1/order-events)."""
    from creditline.adapters import nats_events  # noqa: PLC0415
    from creditline.entrypoints.api.event_schemas import OrderEventIn  # noqa: PLC0415

    bodies: list[bytes] = []
    for number, line in enumerate(file.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            OrderEventIn.model_validate_json(line)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise fail(f"{file}:{number}: {where}: {first['msg']}") from None
        bodies.append(line.encode())
        if len(bodies) > PUBLISH_EVENTS_MAX:
            raise fail(f"{file}: more than {PUBLISH_EVENTS_MAX} events; split the file")
    with runtime() as rt:
        topology = nats_events.Topology(rt.settings.nats_namespace)

        async def send() -> None:
            client, js = await nats_events.connect(rt.settings.nats_url, topology)
            try:
                await nats_events.publish(js, topology, platform_id, bodies)
            finally:
                await nats_events.close(client)

        try:
            asyncio.run(send())
        except (OSError, TimeoutError) as error:
            raise fail(f"NATS unavailable at {rt.settings.nats_url}: {error}") from None
    out.print(f"published {len(bodies)} events to {topology.subject_for(platform_id)}")


@events_app.command("dead-letters")
def dead_letters(
    kind: Annotated[str | None, typer.Option(help="order_event or webhook")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
) -> None:
    """List open dead letters, oldest first."""
    if kind not in (None, "order_event", "webhook"):
        raise fail(f"--kind is order_event or webhook, not {kind!r}")
    with runtime() as rt, rt.uow_factory(write=False) as uow:
        page = uow.dead_letters.open(kind=kind, after=None, limit=limit)
    # Ids are what an operator copies into `replay`: never cut, whatever the width.
    rows = [
        (
            letter.id,
            letter.kind,
            letter.platform_id or "-",
            letter.ref,
            letter.reason,
            str(letter.attempts),
            letter.detail,
        )
        for letter in page.items
    ]
    show_rows(("id", "kind", "platform", "ref", "reason", "attempts", "detail"), rows)
    more = " (more: raise --limit)" if page.next_cursor else ""
    out.print(f"{len(page.items)} open dead letters{more}")


@events_app.command("replay")
def replay(
    letter_id: str,
    reason: Annotated[str, typer.Option(help="Why; kept in the audit log")],
) -> None:
    """Apply a dead-lettered order event again (e.g. after the missing hold appeared)."""
    from creditline.service.audit import record_action  # noqa: PLC0415
    from creditline.service.orders.events import replay_dead_letter  # noqa: PLC0415

    if not reason.strip():
        raise fail("a replay needs a --reason; it is kept in the audit log")
    with runtime() as rt:
        actor = cli_operator()
        outcome = replay_dead_letter(
            rt.uow_factory,
            lambda careful: rt.bus.context(actor, careful=careful),
            letter_id,
            rt.clock.now(),
        )
        if outcome is None:
            raise fail(f"no open order-event dead letter {letter_id}")
        record_action(
            rt.uow_factory,
            rt.bus.context(actor),
            "dead_letter.replay",
            letter_id,
            reason,
            f"resolved={outcome.resolved}",
        )
    result = outcome.result
    verdict = "resolved" if outcome.resolved else "still dead-lettered"
    out.print(f"{letter_id}: {verdict}: {result.status} ({result.outcome}) {result.detail}")
    if not outcome.resolved:
        raise typer.Exit(1)
