"""Jinja2 templates from the project's templates/ folder (HTML autoescaped), with £ and date filters."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from grants.kernel.dates import long_date, short_date
from grants.kernel.money import format_gbp

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _pct(value: Decimal | float) -> str:
    return f"{Decimal(str(value)) * 100:.0f}%"


@lru_cache(maxsize=4)
def environment(folder: Path = TEMPLATES) -> Environment:
    """The template environment: undefined names are errors, HTML and XML templates are autoescaped."""
    env = Environment(loader=FileSystemLoader(folder), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html", "xml", "html.j2"]), trim_blocks=True, lstrip_blocks=True)
    env.filters.update(gbp=format_gbp, pct=_pct, day=short_date, long_day=long_date)  # the board pack is compact
    return env
