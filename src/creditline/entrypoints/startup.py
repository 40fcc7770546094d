"""What a server checks before it starts: nothing of development mode reaches production.

Outside development mode (`CREDITLINE_MODE`), `creditline serve` — and the app factory
each uvicorn worker runs — refuse to start while a development shortcut is in force: the
local verifier, a missing or built-in secret (`Settings.production_problems`), or the
demo's API keys, which are printed in the README, still active in the database.
"""

from __future__ import annotations

from creditline.bootstrap import Runtime
from creditline.entrypoints.demo import active_demo_keys


def startup_problems(runtime: Runtime) -> list[str]:
    """Why this runtime may not serve (empty: it may)."""
    settings = runtime.settings
    if settings.development:
        return []
    problems = settings.production_problems()
    found = active_demo_keys(runtime)
    if found:
        problems.append(
            f"the database holds the demo's published API keys ({', '.join(found)}): revoke "
            "them with `creditline admin revoke-key <id>`, or use a database of its own"
        )
    return problems


def refusal(problems: list[str]) -> str:
    """The message a refused start prints: every problem, one per line."""
    lines = "\n".join(f"  - {p}" for p in problems)
    return f"refusing to start outside development mode (CREDITLINE_MODE=production):\n{lines}"
