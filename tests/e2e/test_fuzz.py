"""The whole API fuzzed from its own OpenAPI document (schemathesis), with each role's key.

Every operation gets generated requests — valid and invalid bodies, odd strings (NUL,
surrogates, huge numbers), headers and path ids — on a world with real accounts, holds
and dead letters, so many requests reach the handlers rather than a 404. A response
fails the test if it is a 5xx, or if its status, content type or body is not what the
document declares for that operation. Bounded: `EXAMPLES_PER_OPERATION` per operation
and role, on SQLite and on PostgreSQL (where NUL once answered 500).
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from creditline.entrypoints.api.app import create_app
from tests.conftest import World

EXAMPLES_PER_OPERATION = 25
ROLES = ("platform", "merchant", "operator", "consumer")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture
def seeded(world: World) -> dict[str, Any]:
    """Real objects for path parameters: an account with holds in several states, a
    consumer key for it, and an open dead letter."""
    account = world.open_account(500_000)
    pending = world.authorize(account, 10_000, order="fuzz-1")
    captured = world.authorize(account, 20_000, order="fuzz-2")
    from creditline.domain.money import Money  # noqa: PLC0415
    from creditline.service import commands  # noqa: PLC0415

    world.runtime.bus.execute(
        world.merchant, commands.Capture(hold_id=captured.id, amount=Money(20_000))
    )
    world.plant_dead_letter(
        letter_id="dlq_fuzz",
        ref="e-fuzz",
        reason="unknown_order",
        payload='{"platform_id":"plat_test","event_id":"e-fuzz","type":"cancelled",'
        '"order_id":"nobody","occurred_at":"2026-11-22T02:00:00+00:00","amount":null}',
    )
    keys = {**world.keys, "consumer": world.consumer_key(account)}
    return {
        "keys": keys,
        "ids": {
            "account_id": [account, "acct_nobody"],
            "hold_id": [pending.id, captured.id, "hold_nobody"],
            "letter_id": ["dlq_fuzz", "dlq_nobody"],
        },
    }


def _fuzz(operation: Any, mode: Any, seeded: dict[str, Any], rng: random.Random) -> bool:
    """Fuzz one operation with every role's key; False if it has nothing to make invalid
    (an operation without parameters or body, in negative mode)."""
    for role in ROLES:
        headers = {"Authorization": f"Bearer {seeded['keys'][role]}"}

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode, headers=headers))
        def run(case: Any) -> None:
            for name in list(case.path_parameters or {}):
                if name in seeded["ids"] and rng.random() < 0.8:  # mostly real ids
                    case.path_parameters[name] = rng.choice(seeded["ids"][name])
            case.call_and_validate(checks=CHECKS)

        try:
            run()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE, operation.label
            return False
    return True


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_answers_what_it_declares(
    world: World, seeded: dict[str, Any], mode: GenerationMode
) -> None:
    quiet = replace(world.runtime, settings=replace(world.runtime.settings, access_log=False))
    app = create_app(quiet, background=False)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    rng = random.Random(7)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    fuzzed = [op.label for op in operations if _fuzz(op, mode, seeded, rng)]
    assert len(fuzzed) >= 17, fuzzed
