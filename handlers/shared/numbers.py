"""Numbers that stay exact from the request to the table and back: read as Decimal, checked against
what each service that carries them can hold, and written out with their own digits.

A binary float rounds 999.99999999999999999 to 1000: a buy archived at the wrong price and judged
by the wrong threshold. So no float is ever made: JSON numbers are parsed as Decimal, and JSON is
written by `exact_dumps`, which prints a Decimal's digits as a JSON number.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator

# DynamoDB's number type: up to 38 digits of precision, magnitudes from 1E-130 to 9.9999...E+125.
MAX_PRECISION = 38
SMALLEST = Decimal("1E-130")
LARGEST = Decimal("9.9999999999999999999999999999999999999E+125")
# AWS IoT's rules engine carries Int and Decimal values to 34 digits (iot-sql-data-types).
IOT_PRECISION = 34


def storable(value: Decimal, precision: int = MAX_PRECISION) -> Decimal:
    """`value` unchanged, or a ValueError saying why it cannot be carried exactly."""
    if not value.is_finite():
        raise ValueError("must be a finite number")
    if value.is_zero():
        return value
    digits = significant_digits(value)
    if digits > precision:
        raise ValueError(f"has {digits} significant digits; at most {precision} can be kept exactly")
    if not SMALLEST <= value.copy_abs() <= LARGEST:  # abs() would round to the context's 28 digits
        raise ValueError("must lie between 1E-130 and 9.99E+125 in magnitude (or be 0)")
    return value


def significant_digits(value: Decimal) -> int:
    """Digits from the first to the last non-zero one. (`normalize()` would round to the context's 28
    digits first, so a 40-digit number would pass for a storable one.)"""
    digits = "".join(map(str, value.as_tuple().digits)).strip("0")
    return max(len(digits), 1)


def _carried_by_iot(value: Decimal) -> Decimal:
    return storable(value, IOT_PRECISION)


StorableDecimal = Annotated[Decimal, AfterValidator(storable)]
# A number that travels through IoT Core's rules engine into DynamoDB: both must keep it exactly.
IotDecimal = Annotated[Decimal, AfterValidator(_carried_by_iot)]


def unstorable_numbers(value: Any, path: str = "", precision: int = MAX_PRECISION, iot: bool = False) -> list[str]:
    """Where in a JSON value a number that cannot be carried exactly is, and why. With `iot`, also by
    IoT Core's rules engine: whole numbers are Ints there, of at most 34 digits in all."""
    if isinstance(value, dict):
        return [p for k, v in value.items()
                for p in unstorable_numbers(v, f"{path}.{k}" if path else str(k), precision, iot)]
    if isinstance(value, list):
        return [p for n, v in enumerate(value) for p in unstorable_numbers(v, f"{path}[{n}]", precision, iot)]
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return []
    if iot and isinstance(value, int) and len(str(abs(value))) > IOT_PRECISION:
        return [f"{path or 'body'}: is a whole number of {len(str(abs(value)))} digits; IoT Core carries at most "
                f"{IOT_PRECISION}"]
    try:
        storable(Decimal(value), IOT_PRECISION if iot else precision)
    except ValueError as exc:
        return [f"{path or 'body'}: {exc}"]
    return []


def exact_dumps(value: Any, **options: Any) -> str:
    """JSON text in which every Decimal is a JSON number with exactly its own digits.

    The json module writes no Decimal as a number, so each is written as a unique placeholder string,
    then replaced by its digits."""
    marks: dict[str, str] = {}

    def mark(number: Decimal) -> str:
        if not number.is_finite():
            raise ValueError(f"{number} is not a JSON number")
        token = f"\x00{uuid.uuid4().hex}\x00"
        marks[json.dumps(token)] = str(number)  # `1E+2`, `-0`, `0.000001`: all valid JSON numbers
        return token

    text = json.dumps(_replace_decimals(value, mark), **options)
    for token, digits in marks.items():
        text = text.replace(token, digits, 1)
    return text


def _replace_decimals(value: Any, mark: Callable[[Decimal], str]) -> Any:
    if isinstance(value, Decimal):
        return mark(value)
    if isinstance(value, dict):
        return {k: _replace_decimals(v, mark) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_replace_decimals(v, mark) for v in value]
    return value


def exact_loads(text: str | bytes) -> Any:
    """JSON with its fractional numbers as Decimal (integers are exact as int)."""
    return json.loads(text, parse_float=Decimal)
