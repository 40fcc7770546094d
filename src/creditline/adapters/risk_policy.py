"""Where the risk policy comes from: the packaged default, or a file reloaded on change.

`PolicySource.current()` stats the file on each call (microseconds) and re-parses it
when its modification time or size changed, so a new policy takes effect without a
restart. A new version that fails validation is refused: the one in force stays, and
`last_error` says why (naming the key). The first load has no fallback: it raises.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

from creditline.domain.risk.policy import Policy, PolicyError, parse_policy
from creditline.domain.risk.rules import RULE_NAMES

DEFAULT_POLICY = "default_policy.toml"


def default_policy_text() -> str:
    return files("creditline.domain.risk").joinpath(DEFAULT_POLICY).read_text(encoding="utf-8")


def load_policy(path: Path | None = None) -> Policy:
    """Parse the packaged default, or `path`; a bad policy raises `PolicyError`."""
    if path is None:
        return parse_policy(default_policy_text(), RULE_NAMES)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyError(f"{path}: {error.strerror}") from None
    try:
        return parse_policy(text, RULE_NAMES)
    except PolicyError as error:
        raise PolicyError(f"{path}: {error}") from None


OBSERVE = "observe"
"""`CREDITLINE_RISK_POLICY=observe`: the packaged policy with every rule in shadow mode —
each payment is evaluated and logged, none refused by a rule (for a first rollout, and
for benchmarks, which then do all of the pipeline's work)."""


def observe_policy_text() -> str:
    text = default_policy_text()
    marker = "[shadow]\nrules = []"
    assert marker in text, "the packaged policy ends with an empty [shadow] table"
    return text.replace(marker, f"[shadow]\nrules = {list(RULE_NAMES)!r}".replace("'", '"'))


def policy_source(setting: str) -> PolicySource:
    """From `CREDITLINE_RISK_POLICY`: empty (packaged), `observe`, or a file's path."""
    if setting == OBSERVE:
        return PolicySource(fixed=parse_policy(observe_policy_text(), RULE_NAMES))
    return PolicySource(Path(setting) if setting else None)


class PolicySource:
    def __init__(self, path: Path | None = None, *, fixed: Policy | None = None) -> None:
        self._path = path
        self._stamp = self._stat()
        self._policy = fixed if fixed is not None else load_policy(path)
        self.last_error: str | None = None

    def _stat(self) -> tuple[int, int] | None:
        if self._path is None:
            return None
        try:
            stat = os.stat(self._path)
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def current(self) -> Policy:
        stamp = self._stat()
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._policy = load_policy(self._path)
                self.last_error = None
            except PolicyError as error:
                self.last_error = str(error)
        return self._policy
