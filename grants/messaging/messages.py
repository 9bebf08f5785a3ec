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

from grants.kernel.dates import long_date, plural, short_date

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


@lru_cache(maxsize=4)
def _environment(folder: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(folder), undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        keep_trailing_newline=True,
    )
    env.filters["gbp"] = _gbp
    env.filters["day"] = long_date
    env.filters["plural"] = plural
    env.filters["short_day"] = short_date
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
