"""The bases of every request and response body, and the problem document's schema.

Every request body derives from `In`: unknown fields are refused, and every string in it
— however deeply nested in lists — passes the one text rule (`entrypoints/text.py`), so
a NUL or a lone surrogate is a 422 naming the field on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from creditline.domain.limits import AMOUNT_MAX, CREDIT_LIMIT_MAX
from creditline.entrypoints.text import unstorable

Fen = Annotated[int, Field(strict=True, gt=0, le=AMOUNT_MAX.fen, description="Amount in fen")]
"""Every amount a request carries: an integer of fen, 1 … ¥100,000,000.00."""
LimitFen = Annotated[
    int, Field(strict=True, ge=0, le=CREDIT_LIMIT_MAX.fen, description="Credit limit in fen")
]
Text = Annotated[str, Field(min_length=1, max_length=200)]
Reason = Annotated[str, Field(min_length=1, max_length=500)]
ObjectId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z]+_[0-9A-Za-z]+$")]
Label = Annotated[str, Field(min_length=1, max_length=64)]
TIER = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]


def _check(value: Any, where: str = "") -> None:
    if isinstance(value, str):
        problem = unstorable(value)
        if problem is not None:
            raise PydanticCustomError("unstorable_text", f"{where}{problem}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check(item, f"item {index} ")


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any, _info: ValidationInfo) -> Any:
        _check(value)
        return value


class Out(BaseModel):
    """Responses are built from domain objects the engine already checked, so `of()`
    uses `model_construct` (no re-validation); serialization still follows the types."""

    model_config = ConfigDict(frozen=True)


class FieldError(Out):
    field: str = Field(description="The field, dotted (`events.3.occurred_at`), or `body`")
    message: str


class Problem(Out):
    """RFC 9457 problem details, with a stable `code` and the numbers behind it.

    Refusals by the risk rules add `reasons` (each with `message` and `remedy` in the
    answer's `language`), `decision_id`, `challenge_id` and `policy_version`; validation
    errors add `errors`."""

    model_config = ConfigDict(frozen=True, extra="allow")
    type: str = Field(description="`/problems/<code>`: GET it for what the code means")
    title: str
    status: int
    detail: str
    code: str
    params: dict[str, int | str | bool | None] = Field(default_factory=dict)
    errors: list[FieldError] | None = None
