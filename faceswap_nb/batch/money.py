"""Money as whole micro-units, and the price of seconds of video.

Amounts are kept as integers of micro-units (1 unit = 1_000_000 micro-units) so that
summing thousands of jobs never drifts; they become floats only for display
(:func:`to_money`). The job API publishes a price of 0.10 per second of video and no
currency, and does not say whether a started second is billed whole, so both the
price and the rounding rule are settings (:class:`Pricing`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

__all__ = [
    "DEFAULT_PRICE_PER_SECOND",
    "MICROS_PER_UNIT",
    "ROUNDINGS",
    "Pricing",
    "Rounding",
    "billed_seconds",
    "cost_micros",
    "to_micros",
    "to_money",
]

MICROS_PER_UNIT = 1_000_000
DEFAULT_PRICE_PER_SECOND = 0.10
Rounding = Literal["exact", "per_started_second"]
ROUNDINGS: tuple[str, ...] = ("exact", "per_started_second")
# Durations are known to the microsecond at best; this keeps 3.0000000001 s a 3 s clip.
_SECOND_DIGITS = 6


@dataclass(frozen=True)
class Pricing:
    """What one second of video costs, and how a job's seconds are counted.

    Attributes:
        price_per_second: money units per billed second (no currency); default 0.10.
        rounding: ``"exact"`` bills the seconds as they are; ``"per_started_second"``
            bills every started second whole (8.1 s costs 9 s).
    """

    price_per_second: float = DEFAULT_PRICE_PER_SECOND
    rounding: Rounding = "exact"

    def __post_init__(self) -> None:
        price = self.price_per_second
        if isinstance(price, bool) or not isinstance(price, (int, float)):
            raise TypeError(f"price_per_second must be a number, not {price!r}")
        if not math.isfinite(price) or price < 0:
            raise ValueError(f"price_per_second must be a finite number >= 0, not {price!r}")
        if self.rounding not in ROUNDINGS:
            raise ValueError(f"rounding must be one of {ROUNDINGS}, not {self.rounding!r}")
        object.__setattr__(self, "price_per_second", float(price))

    @property
    def price_micros(self) -> int:
        """The price of one billed second, in micro-units."""
        return to_micros(self.price_per_second)

    def to_dict(self) -> dict[str, Any]:
        """The pricing as plain JSON values (for the batch ledger)."""
        return {"price_per_second": self.price_per_second, "rounding": self.rounding}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Pricing:
        """The pricing written by :meth:`to_dict`.

        Raises:
            ValueError: a field is missing or invalid.
        """
        try:
            return cls(float(data["price_per_second"]), cast(Rounding, data["rounding"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a pricing: {dict(data)!r}") from exc


def billed_seconds(seconds: float, rounding: Rounding = "exact") -> float:
    """The seconds a job of ``seconds`` of video is billed for under ``rounding``.

    NaN (an unknown duration) stays NaN.

    Raises:
        ValueError: ``seconds`` is negative or infinite, or ``rounding`` is unknown.
    """
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding must be one of {ROUNDINGS}, not {rounding!r}")
    if math.isnan(seconds):
        return math.nan
    if seconds < 0 or math.isinf(seconds):
        raise ValueError(f"a duration is a finite number of seconds >= 0, not {seconds!r}")
    seconds = round(float(seconds), _SECOND_DIGITS)
    return float(math.ceil(seconds)) if rounding == "per_started_second" else seconds


def cost_micros(seconds: float, pricing: Pricing) -> int:
    """The cost of a job of ``seconds`` of video, in micro-units (rounded to the nearest).

    The billed seconds are counted in whole microseconds and multiplied as integers,
    so the result does not depend on float rounding.

    Raises:
        ValueError: ``seconds`` is NaN, negative or infinite.
    """
    if math.isnan(seconds):
        raise ValueError("the cost of an unknown duration (NaN) cannot be computed")
    billed_us = round(billed_seconds(seconds, pricing.rounding) * MICROS_PER_UNIT)
    return (billed_us * pricing.price_micros + MICROS_PER_UNIT // 2) // MICROS_PER_UNIT


def to_micros(amount: float) -> int:
    """An amount of money in micro-units (rounded to the nearest)."""
    if math.isnan(amount) or math.isinf(amount):
        raise ValueError(f"an amount of money is a finite number, not {amount!r}")
    return round(amount * MICROS_PER_UNIT)


def to_money(micros: int) -> float:
    """Micro-units as a float amount of money, for display and data frames."""
    return micros / MICROS_PER_UNIT
