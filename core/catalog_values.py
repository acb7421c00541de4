"""Reading one catalog value: a price table, a day, and the name of a field's expected type.

Each reader takes `fail`, which turns a problem into the CatalogError that names the model and field."""

from __future__ import annotations

import datetime as dt
from typing import Any


def prices(price: Any, resolutions: tuple[str, ...], fail: Any) -> dict[str, float]:
    """A price (one number, or a table per resolution with an optional "default") as a table."""
    if not isinstance(price, dict):
        if price < 0:
            raise fail("must be >= 0")
        return {"default": float(price)}
    prices = {}
    for key, value in price.items():
        if key != "default" and key not in resolutions:
            raise fail(f"{key!r} is not one of this model's resolutions")
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise fail(f"price for {key!r} must be a number >= 0")
        prices[key] = float(value)
    missing = [r for r in resolutions if r not in prices]
    if missing and "default" not in prices:
        raise fail(f"no price for {', '.join(missing)} and no 'default'")
    prices.setdefault("default", prices.get(resolutions[0], 0.0))
    return prices


def day(value: Any, fail: Any) -> dt.date | None:
    """A TOML date (2026-12-03) or an ISO day string as a date; None when absent."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise fail(f"{value!r} is not a day like 2026-12-03") from None
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise fail(f"must be a day like 2026-12-03 (no time of day), got {value!r}")
    return value


def kind_name(kind: type | tuple[type, ...]) -> str:
    """How an error names the type a field must have."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {
        int: "a whole number",
        float: "a number",
        str: "a string",
        bool: "true or false",
        list: "a list",
        dict: "a table",
    }
    return " or ".join(names.get(k, k.__name__) for k in kinds)
