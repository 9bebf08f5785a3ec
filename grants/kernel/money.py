"""Money: Decimal pounds in the domain, integer pence in the database. Never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

PENNY = Decimal("0.01")
LARGEST = Decimal(10) ** 15  # pounds: far beyond any grant, and its pence still fit a 64-bit column


def to_decimal(value: object) -> Decimal:
    """Exact pounds from an int, a Decimal, a string or a float as written in config (at most 2 decimal places)."""
    if isinstance(value, bool):
        raise ValueError("a true/false value is not an amount of money")
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation as exc:
        raise ValueError(f"{value!r} is not an amount of money") from exc
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not an amount of money")
    if abs(amount) >= LARGEST:
        raise ValueError(f"{value!r} is too large to be an amount of money")
    pounds = amount.quantize(PENNY)
    if amount != pounds:
        raise ValueError(f"{value!r} has more than two decimal places (pence)")
    return pounds


def to_pence(amount: Decimal) -> int:
    """Integer pence from exact pounds (rounds half up to the penny)."""
    return int((amount.quantize(PENNY, rounding=ROUND_HALF_UP) * 100).to_integral_value())


def from_pence(pence: int) -> Decimal:
    """Exact pounds from integer pence."""
    return (Decimal(pence) / 100).quantize(PENNY)


def format_gbp(amount: Decimal | int, *, pence: bool = False) -> str:
    """'£125,000.00' from pounds (or from pence when `pence=True`); negatives as '-£12.50'."""
    pounds = from_pence(amount) if pence and isinstance(amount, int) else Decimal(amount)
    sign = "-" if pounds < 0 else ""
    return f"{sign}£{abs(pounds):,.2f}"
