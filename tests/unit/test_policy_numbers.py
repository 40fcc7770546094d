"""A policy's numbers are finite and exact: inf and nan are refused by name, and a share
is the fraction its text says."""

from __future__ import annotations

from fractions import Fraction

import pytest

from creditline.adapters.risk_policy import default_policy_text
from creditline.domain.risk.policy import PolicyError, parse_policy
from creditline.domain.risk.rules import RULE_NAMES


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "+nan"])
@pytest.mark.parametrize(
    ("setting", "where"),
    [
        ("robust_z_max = 6.0", "anomaly.robust_z_max"),
        ("speed_kmh_max = 900", "travel.speed_kmh_max"),
        ("cash_out_share_max = 0.3", "tiers.standard.cash_out_share_max"),
    ],
)
def test_infinite_or_undefined_numbers_are_refused(setting: str, where: str, value: str) -> None:
    name = setting.split(" = ", maxsplit=1)[0]
    text = default_policy_text().replace(setting, f"{name} = {value}", 1)
    with pytest.raises(PolicyError, match=where):
        parse_policy(text, RULE_NAMES)


def test_a_share_is_the_exact_fraction_of_its_text() -> None:
    text = default_policy_text().replace("cash_out_share_max = 0.3", "cash_out_share_max = 0.1", 1)
    assert parse_policy(text, RULE_NAMES).tiers["standard"].cash_out_share_max == Fraction(1, 10)
