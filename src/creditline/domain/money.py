"""Money: the one value type for amounts, an integer number of fen (0.01 CNY).

Every amount in creditline is a `Money`. It holds an `int` and refuses anything else —
floats are lossy (0.1 + 0.2 != 0.3) and booleans are integers only by accident — so a
rounding error cannot enter through arithmetic. Parsing from yuan text is exact and
refuses more than two decimal places instead of rounding. (TigerBeetle's data-modeling
guide; hordak's `LossyCalculationError`.)
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

FEN_PER_YUAN = 100
CURRENCY_SIGN = "¥"


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An amount of CNY as an integer number of fen; negative amounts are allowed."""

    fen: int

    def __post_init__(self) -> None:
        if type(self.fen) is not int:
            raise TypeError(f"Money takes an int number of fen, not {type(self.fen).__name__}")

    @classmethod
    def zero(cls) -> Money:
        return cls(0)

    @classmethod
    def from_yuan(cls, yuan: str | Decimal | int) -> Money:
        """Parse yuan exactly: "12.34" → 1234 fen. Refuses floats and sub-fen digits."""
        if isinstance(yuan, bool | float):
            raise TypeError("Money.from_yuan refuses floats and booleans; pass text or Decimal")
        try:
            value = Decimal(yuan) if not isinstance(yuan, Decimal) else yuan
        except InvalidOperation as error:
            raise ValueError(f"not an amount of yuan: {yuan!r}") from error
        if not value.is_finite():
            raise ValueError(f"not an amount of yuan: {yuan!r}")
        fen = value * FEN_PER_YUAN
        if fen != fen.to_integral_value():
            raise ValueError(f"{yuan!r} has more than two decimal places")
        return cls(int(fen))

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.fen + other.fen)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.fen - other.fen)

    def __neg__(self) -> Money:
        return Money(-self.fen)

    def __mul__(self, factor: int) -> Money:
        if type(factor) is not int:
            return NotImplemented
        return Money(self.fen * factor)

    __rmul__ = __mul__

    def is_positive(self) -> bool:
        return self.fen > 0

    def is_zero(self) -> bool:
        return self.fen == 0

    def is_negative(self) -> bool:
        return self.fen < 0

    def format(self) -> str:
        """Render for people: ¥1,234.56, -¥0.05."""
        sign = "-" if self.fen < 0 else ""
        yuan, fen = divmod(abs(self.fen), FEN_PER_YUAN)
        return f"{sign}{CURRENCY_SIGN}{yuan:,}.{fen:02d}"

    def __str__(self) -> str:
        return self.format()


def max_money(first: Money, second: Money) -> Money:
    return first if first >= second else second


def min_money(first: Money, second: Money) -> Money:
    return first if first <= second else second


ZERO = Money(0)
