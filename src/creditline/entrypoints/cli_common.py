"""What every CLI command shares: consoles, one-line failures, a wired runtime."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from sqlalchemy.exc import OperationalError

from creditline.adapters.db import migrate
from creditline.bootstrap import Runtime, bootstrap
from creditline.config import Settings
from creditline.domain.errors import CreditlineError
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


def redacted(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://…@{rest.split('@', 1)[1]}"
