"""Money as integer fen (0.01 CNY): sums of a million charges must balance exactly, which floats do not."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from .errors import bad_input

Fen = int


def to_fen(value: object, *, what: str = "amount") -> Fen:
    """Fen from a CNY amount given as str/int/Decimal/float (``"5.00"``, ``5``, ``Decimal("0.29")``)."""
    if isinstance(value, bool) or value is None:
        raise bad_input(f"The {what} must be a number of CNY, got {value!r}.")
    try:
        dec = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise bad_input(f"The {what} {value!r} is not a number of CNY.") from None
    if not dec.is_finite():
        raise bad_input(f"The {what} {value!r} is not a number of CNY.")
    fen = dec * 100
    if fen != fen.to_integral_value():
        raise bad_input(f"The {what} {value!r} has more than 2 decimals; CNY amounts are in whole fen.")
    return int(fen)


def to_cny(fen: Fen) -> str:
    """``"-5.00"`` style text for reports and API bodies (exact, never a float)."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"
