"""`creditline clock …`: the development clock — read it, move it forward.

Only with CREDITLINE_CLOCK=movable (development mode): every process on the database
then reads this time, so a line's months can be driven through the real API in seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Annotated

import typer

from creditline.adapters.db.dev_clock import MovableClock
from creditline.entrypoints.cli.common import fail, out, runtime

clock_app = typer.Typer(
    help="The development clock (CREDITLINE_CLOCK=movable): read it or move it forward.",
    invoke_without_command=True,
)


@contextmanager
def _movable() -> Iterator[MovableClock]:
    with runtime() as rt:
        if not isinstance(rt.clock, MovableClock) or not rt.settings.development:
            raise fail(
                "the clock moves only in development mode with CREDITLINE_CLOCK=movable "
                "(CREDITLINE_MODE=development, as `make run` sets)"
            )
        yield rt.clock


def _show(clock: MovableClock) -> None:
    ahead = clock.offset()
    out.print(f"{clock.now().isoformat(timespec='seconds')} ({ahead} ahead of the wall clock)")


@clock_app.callback()
def clock(ctx: typer.Context) -> None:
    """Print the development clock's time and how far ahead of the wall clock it runs."""
    if ctx.invoked_subcommand is None:
        with _movable() as moving:
            _show(moving)


@clock_app.command("advance")
def advance(
    days: Annotated[int, typer.Option(min=0, max=3_660)] = 0,
    hours: Annotated[int, typer.Option(min=0, max=87_840)] = 0,
    minutes: Annotated[int, typer.Option(min=0)] = 0,
    seconds: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """Move the development clock forward, e.g. --days 30."""
    delta = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if delta <= timedelta(0):
        raise fail("give how far to move: --days, --hours, --minutes or --seconds")
    with _movable() as moving:
        moving.advance(delta)
        _show(moving)


@clock_app.command("set")
def set_clock(
    to: Annotated[str, typer.Argument(help="ISO 8601 with a zone, e.g. 2027-01-01T09:00:00+08:00")],
) -> None:
    """Move the development clock forward to a time (never back)."""
    try:
        moment = datetime.fromisoformat(to)
    except ValueError:
        raise fail(f"{to!r} is not an ISO 8601 time") from None
    with _movable() as moving:
        try:
            moving.set(moment)
        except ValueError as error:
            raise fail(str(error)) from None
        _show(moving)
