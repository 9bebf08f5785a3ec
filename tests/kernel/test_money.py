"""Money is exact: Decimal pounds, integer pence, no floats, totals reconcile to the penny."""

from __future__ import annotations

from decimal import Decimal

import pytest

from grants.kernel.money import format_gbp, from_pence, to_decimal, to_pence


@pytest.mark.parametrize(
    ("value", "expected"),
    [(125000, "125000.00"), ("125000.00", "125000.00"), (0.1, "0.10"), (15625.5, "15625.50"), (" 7 ", "7.00")],
)
def test_amounts_are_read_exactly(value: object, expected: str) -> None:
    assert to_decimal(value) == Decimal(expected)


@pytest.mark.parametrize("value", ["1.005", "abc", True, "NaN", "inf", 0.333, "1e999", "99999999999999999999999",
                                   "-1e15"])
def test_inexact_or_non_numeric_amounts_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        to_decimal(value)


def test_pence_round_trip_is_exact_and_sums_reconcile() -> None:
    amounts = [Decimal("0.10")] * 10 + [Decimal("12345.67"), Decimal("0.01")]
    pence = [to_pence(a) for a in amounts]
    assert all(isinstance(p, int) for p in pence)
    assert from_pence(sum(pence)) == sum(amounts) == Decimal("12346.68")
    assert sum(to_pence(Decimal("0.10")) for _ in range(10)) == 100


@pytest.mark.parametrize(
    ("amount", "text"), [(Decimal("125000"), "£125,000.00"), (Decimal("-12.5"), "-£12.50"), (150, "£150.00")]
)
def test_format_gbp(amount: Decimal, text: str) -> None:
    assert format_gbp(amount) == text


def test_format_gbp_from_pence() -> None:
    assert format_gbp(1250001, pence=True) == "£12,500.01"
