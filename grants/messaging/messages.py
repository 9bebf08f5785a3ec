"""Message bodies: Jinja2 templates under templates/messages/, one plain-text and one HTML file per kind.

`<kind>.txt.j2` starts with a `Subject: ...` line, then a blank line, then the plain-text body; `<kind>.html.j2` is the
HTML body (extending `_layout.html.j2`). Both get the same context.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates" / "messages"


@dataclass(frozen=True)
class Rendered:
    """A rendered message: subject, plain text and HTML."""

    subject: str
    text: str
    html: str


def _gbp(pence: int) -> str:
    sign = "-" if pence < 0 else ""
    pounds, pennies = divmod(abs(pence), 100)
    return f"{sign}£{pounds:,}.{pennies:02d}"


def govuk_date(value: Any) -> str:
    """A date as GOV.UK writes it: 'Monday 14 October 2024' (no leading zero, day and month in full)."""
    return f"{value:%A} {value.day} {value:%B %Y}" if value is not None else ""


IRREGULAR = {"people": "person", "children": "child"}


def plural(count: int, noun: str) -> str:
    """'1 working day', '3 working days', '1 school' (from the plural 'schools'), '1 person' (from 'people')."""
    words = noun.rsplit(" ", 1)
    last = words[-1]
    if count == 1:
        last = IRREGULAR.get(last, last[:-1] if last.endswith("s") and not last.endswith("ss") else last)
    elif not last.endswith("s") and last not in IRREGULAR:
        last = {"person": "people", "child": "children"}.get(last, last + "s")
    return f"{count} {' '.join([*words[:-1], last])}"


@lru_cache(maxsize=4)
def _environment(folder: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(folder), undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        keep_trailing_newline=True,
    )
    env.filters["gbp"] = _gbp
    env.filters["day"] = govuk_date
    env.filters["plural"] = plural
    return env


def render(kind: str, context: dict[str, Any], folder: Path = TEMPLATES_DIR) -> Rendered:
    """Render the subject, text and HTML of one message kind."""
    env = _environment(folder)
    text = env.get_template(f"{kind}.txt.j2").render(**context)
    first, _, body = text.partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"template {kind}.txt.j2 must start with a 'Subject:' line")
    html = env.get_template(f"{kind}.html.j2").render(**context)
    return Rendered(first.removeprefix("Subject:").strip(), body.lstrip("\n"), html)
