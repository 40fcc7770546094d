"""What every CLI command shares: consoles, one-line failures, a wired runtime, tables
that stay readable in 80 columns and command summaries that never break mid-sentence."""

from __future__ import annotations

import getpass
import inspect
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import OperationalError

from creditline.adapters.db import migrate
from creditline.bootstrap import Runtime, bootstrap
from creditline.config import Settings
from creditline.domain.errors import CreditlineError
from creditline.entrypoints.text import unstorable
from creditline.service.access import Actor, Role
from creditline.service.ports import StoreUnavailable

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def cli_operator() -> Actor:
    """Actions taken from the command line are audited under the OS user's name."""
    return Actor(key_id="cli", role=Role.OPERATOR, name=f"cli:{getpass.getuser()}")


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as error:
        raise fail(str(error)) from None


@contextmanager
def runtime(*, require_schema: bool = True) -> Iterator[Runtime]:
    """A wired runtime; refuses to run against a database that is not migrated."""
    rt = bootstrap(load_settings())
    try:
        if require_schema:
            _check_schema(rt)
        yield rt
    except CreditlineError as refusal:
        raise fail(f"{refusal.code}: {refusal.detail}") from None
    except OperationalError as error:
        raise fail(f"database unavailable: {error.orig}") from None
    except StoreUnavailable as error:
        raise fail(f"database busy or unavailable: {error}") from None
    finally:
        rt.close()


def _check_schema(rt: Runtime) -> None:
    current = migrate.current_revision(rt.engine)
    head = migrate.head_revision(rt.engine)
    if current != head:
        raise fail(
            f"database is at schema revision {current or 'none'}, this version needs "
            f"{head}: run `creditline db upgrade`"
        )


def unstorable_argument(arguments: list[str]) -> str | None:
    """The one-line refusal for an argument no database can store (bytes that are not
    UTF-8 arrive as lone surrogates), or None: the text rule of the API, for the CLI."""
    for position, argument in enumerate(arguments, start=1):
        problem = unstorable(argument)
        if problem is not None:
            return f"argument {position} {problem}"
    return None


def redacted(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://…@{rest.split('@', 1)[1]}"


TABLE_PADDING_CELLS = 3
"""What a table column costs besides its widest cell (two spaces and a rule)."""


def show_rows(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, title: str | None = None
) -> None:
    """A table if it fits the terminal unbroken; otherwise each row as a block of
    `header: value` lines (ids and messages stay whole instead of wrapping in columns)."""
    columns = len(headers)
    widths = [
        max([cell_len(headers[i]), *(cell_len(row[i]) for row in rows)]) for i in range(columns)
    ]
    if sum(widths) + TABLE_PADDING_CELLS * columns + 1 <= out.width:
        table = Table(*headers, title=title)
        for column in table.columns:
            column.no_wrap = True
        for row in rows:
            table.add_row(*row)
        out.print(table, highlight=False)
        return
    if title:
        out.print(f"[bold]{title}[/bold]")
    for row in rows:
        out.print(f"[bold]{row[0]}[/bold]", highlight=False)
        for header, value in zip(headers[1:], row[1:], strict=True):
            if value:
                out.print(f"  {header}: {value}", highlight=False, soft_wrap=False)


def tidy_help(app: typer.Typer) -> typer.Typer:
    """Typer's rich command list keeps a docstring's source line breaks, so a summary
    broke mid-sentence: every command gets its first paragraph as one line."""
    for info in app.registered_commands:
        doc = inspect.getdoc(info.callback) if info.callback is not None else None
        if info.short_help is None and doc:
            info.short_help = " ".join(doc.split("\n\n")[0].split())
    for group in app.registered_groups:
        if group.typer_instance is not None:
            tidy_help(group.typer_instance)
    return app
