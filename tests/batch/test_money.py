"""Money in micro-units, billed seconds and pricing rules."""

from __future__ import annotations

import math

import pytest

from faceswap_nb.batch.money import (
    MICROS_PER_UNIT,
    Pricing,
    billed_seconds,
    cost_micros,
    to_micros,
    to_money,
)


def test_the_default_pricing_is_ten_cents_per_exact_second() -> None:
    pricing = Pricing()

    assert (pricing.price_per_second, pricing.rounding) == (0.10, "exact")
    assert pricing.price_micros == 100_000


@pytest.mark.parametrize(
    ("seconds", "exact", "started"),
    [
        (0.0, 0.0, 0.0),
        (0.8, 0.8, 1.0),
        (1.0, 1.0, 1.0),
        (8.633333, 8.633333, 9.0),
        (3.0000000001, 3.0, 3.0),
        (59.999, 59.999, 60.0),
    ],
)
def test_billed_seconds_per_rule(seconds: float, exact: float, started: float) -> None:
    assert billed_seconds(seconds, "exact") == pytest.approx(exact)
    assert billed_seconds(seconds, "per_started_second") == started


def test_an_unknown_duration_stays_unknown() -> None:
    assert math.isnan(billed_seconds(math.nan))
    with pytest.raises(ValueError, match="NaN"):
        cost_micros(math.nan, Pricing())


@pytest.mark.parametrize("seconds", [-1.0, math.inf])
def test_impossible_durations_are_refused(seconds: float) -> None:
    with pytest.raises(ValueError, match="finite number of seconds"):
        billed_seconds(seconds)


def test_costs_are_whole_micro_units_and_add_up_exactly() -> None:
    pricing = Pricing()
    # 0.1 + 0.2 != 0.3 in floats; in micro-units a thousand 0.1 s jobs cost exactly 0.01 * 1000.
    micros = [cost_micros(0.1, pricing) for _ in range(1000)]

    assert all(isinstance(m, int) for m in micros)
    assert sum(micros) == 10 * MICROS_PER_UNIT
    assert to_money(sum(micros)) == 10.0


def test_per_started_second_rounds_up_before_pricing() -> None:
    assert cost_micros(8.2, Pricing(0.10, "per_started_second")) == 900_000
    assert cost_micros(8.2, Pricing(0.10, "exact")) == 820_000


def test_cost_rounds_to_the_nearest_micro_unit() -> None:
    # 1 microsecond at 0.4 per second is 0.4 micro-units: rounds to 0; 2 us to 1.
    assert cost_micros(0.000001, Pricing(0.4)) == 0
    assert cost_micros(0.000002, Pricing(0.4)) == 1


def test_money_conversions_round_trip() -> None:
    assert to_micros(0.1) == 100_000
    assert to_money(to_micros(12.345678)) == 12.345678
    with pytest.raises(ValueError):
        to_micros(math.nan)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"price_per_second": -0.1}, ValueError, ">= 0"),
        ({"price_per_second": math.nan}, ValueError, "finite"),
        ({"price_per_second": "0.1"}, TypeError, "a number"),
        ({"price_per_second": True}, TypeError, "a number"),
        ({"rounding": "per_minute"}, ValueError, "rounding must be one of"),
    ],
)
def test_bad_pricing_is_refused(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        Pricing(**kwargs)  # type: ignore[arg-type]


def test_pricing_survives_the_ledger() -> None:
    pricing = Pricing(0.25, "per_started_second")

    assert Pricing.from_dict(pricing.to_dict()) == pricing
    with pytest.raises(ValueError, match="not a pricing"):
        Pricing.from_dict({"price": 1})
