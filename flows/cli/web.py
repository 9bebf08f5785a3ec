"""`grants web`: serve the web app (lead portal and officers' workspace) with uvicorn. Its own access log names
each route's pattern, never a path (a lead's link is a secret), so uvicorn's access log is off."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from flows.cli.support import AsOf
from flows.ports import check_port_free
from flows.web.process import web_process
from grants.kernel.settings import get_settings


def register(app: typer.Typer) -> None:
    """Add `web` to the CLI."""
    app.command()(web)


def web(
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 for every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    as_of: AsOf = None,
) -> None:
    """Serve the web app: the project leads' portal (their personal links) and the officers' pages."""
    import uvicorn

    from flows.cli import raise_if_interrupted
    from flows.cli.support import parse_as_of
    from flows.web.app import create_app

    raise_if_interrupted()  # a Ctrl-C during those imports: stop now, before serving

    day = parse_as_of(as_of) if as_of else None
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    access = logging.getLogger("grants.web")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    settings = get_settings()
    settings.signing_secret()  # no key yet: one line saying to run `grants init`, rather than a broken sign-in page
    application = create_app(settings, as_of=day)
    check_web_port(host, port, "--port")
    typer.echo(f"Web app: http://{host}:{port}/  (Ctrl-C stops it)")
    uvicorn.run(application, host=host, port=port, access_log=False, log_level="info", server_header=False)


def check_web_port(host: str, port: int, option: str) -> None:
    """One line (exit 1) when something already holds the port, rather than uvicorn's log lines and exit 3, or
    `grants serve` carrying on with its web app gone."""
    check_port_free(host, port, option=option, holders="another `grants web` or `grants serve`")


@contextmanager
def web_beside(host: str, port: int) -> Iterator[None]:
    """Run `grants web` in a child process for as long as the block runs (how `grants serve` starts it)."""
    if port <= 0:
        yield
        return
    with web_process(["--host", host, "--port", str(port)]):
        typer.echo(f"Web app (the project leads' portal): http://{host}:{port}/")
        yield
