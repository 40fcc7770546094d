"""The `creditline` command line (Typer), one module per group of commands:

    root     the root: serve, db upgrade, demo, verify, holds sweep (and the groups)
    admin    platforms, merchants, API keys
    bench    benchmarks beside their baselines
    ops      workers, order events, dead letters, reconciliation
    risk     the risk policy, backtests, the dry run, decisions, challenges
    common   what they share: consoles, one-line failures, a runtime, readable rows

`app` and `main` are loaded on first use, so a module that needs only `common` (the
benches' own commands) does not pull in every command.
"""

from __future__ import annotations

from typing import Any

__all__ = ["app", "main"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from creditline.entrypoints.cli import root  # noqa: PLC0415

        return getattr(root, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
