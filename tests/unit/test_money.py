"""Money is integer fen: exact arithmetic, no floats, readable formatting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditline.domain.money import Money, max_money, min_money

fen = st.integers(min_value=-(10**15), max_value=10**15)


def test_refuses_floats_and_booleans() -> None:
    with pytest.raises(TypeError, match="int number of fen"):
        Money(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True)
    with pytest.raises(TypeError, match="refuses floats"):
        Money.from_yuan(0.1)  # type: ignore[arg-type]


def test_parses_yuan_exactly() -> None:
    assert Money.from_yuan("12.34") == Money(1234)
    assert Money.from_yuan(Decimal("0.1")) + Money.from_yuan("0.2") == Money.from_yuan("0.3")
    assert Money.from_yuan(7) == Money(700)
    with pytest.raises(ValueError, match="more than two decimal places"):
        Money.from_yuan("0.001")
    with pytest.raises(ValueError, match="not an amount"):
        Money.from_yuan("twelve")
    with pytest.raises(ValueError, match="not an amount"):
        Money.from_yuan("NaN")


@pytest.mark.parametrize(
    ("fen_value", "text"),
    [
        (0, "¥0.00"),
        (5, "¥0.05"),
        (123456, "¥1,234.56"),
        (-5, "-¥0.05"),
        (100_000_000_00, "¥100,000,000.00"),
    ],
)
def test_formats_for_people(fen_value: int, text: str) -> None:
    assert Money(fen_value).format() == text
    assert str(Money(fen_value)) == text


def test_arithmetic_refuses_other_types() -> None:
    with pytest.raises(TypeError):
        Money(1) + 1  # type: ignore[operator]
    with pytest.raises(TypeError):
        Money(1) * 1.5  # type: ignore[operator]
    assert Money(3) * 4 == Money(12)
    assert 4 * Money(3) == Money(12)
    assert -Money(3) == Money(-3)


@given(fen, fen)
def test_addition_and_subtraction_are_exact(a: int, b: int) -> None:
    assert (Money(a) + Money(b)).fen == a + b
    assert (Money(a) - Money(b)) + Money(b) == Money(a)
    assert max_money(Money(a), Money(b)).fen == max(a, b)
    assert min_money(Money(a), Money(b)).fen == min(a, b)


@given(fen)
def test_format_round_trips_through_yuan(value: int) -> None:
    text = Money(value).format().replace("¥", "").replace(",", "")
    assert Money.from_yuan(text) == Money(value)
