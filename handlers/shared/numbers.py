"""Numbers DynamoDB can store: a value that validates must also be storable, or the caller gets a
500 (or, through an IoT rule, a message in the error queue) instead of a 400."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator

# DynamoDB's number type: up to 38 digits of precision, magnitudes from 1E-130 to 9.9999...E+125.
MAX_PRECISION = 38
SMALLEST = Decimal("1E-130")
LARGEST = Decimal("9.9999999999999999999999999999999999999E+125")


def storable(value: Decimal) -> Decimal:
    """`value` unchanged, or a ValueError saying why DynamoDB cannot store it."""
    if not value.is_finite():
        raise ValueError("must be a finite number")
    if value.is_zero():
        return value
    digits = len(value.normalize().as_tuple().digits)
    if digits > MAX_PRECISION:
        raise ValueError(f"has {digits} significant digits; at most {MAX_PRECISION} can be stored")
    if not SMALLEST <= abs(value) <= LARGEST:
        raise ValueError("must lie between 1E-130 and 9.99E+125 in magnitude (or be 0)")
    return value


StorableDecimal = Annotated[Decimal, AfterValidator(storable)]


def unstorable_numbers(value: Any, path: str = "") -> list[str]:
    """Where in a JSON value a number DynamoDB cannot store (or a float cannot carry) is."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in unstorable_numbers(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [p for n, v in enumerate(value) for p in unstorable_numbers(v, f"{path}[{n}]")]
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return []
    try:
        storable(value if isinstance(value, Decimal) else Decimal(value) if isinstance(value, int)
                 else Decimal(str(value)))
    except ValueError as exc:
        return [f"{path or 'body'}: {exc}"]
    return []


def plain_numbers(value: Any) -> Any:
    """A DynamoDB item as JSON wants it: its Decimals as ints (when whole) or floats, recursively."""
    if isinstance(value, dict):
        return {k: plain_numbers(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [plain_numbers(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
