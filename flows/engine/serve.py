"""`grants serve`: the engine's main job. Starts a local Prefect server (unless PREFECT_API_URL names one) and
serves every deployment in the registry on its schedule until Ctrl-C."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import typer
from prefect import serve
from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from flows.clock import now_utc
from flows.engine.crashes import HEARTBEAT_SECONDS, ensure_crash_detection
from flows.engine.registry import deployments, next_runs
from flows.engine.server import local_prefect_server
from grants.kernel.dates import clock_time, long_date


def _announce(api_url: str) -> None:
    ui = api_url.removesuffix("/api")
    typer.echo(f"Prefect UI: {ui}")
    typer.echo("Scheduled jobs (Europe/London):")
    for job, when in next_runs(now_utc()):
        typer.echo(f"  {job.name:<16} {job.cron:<20} next {long_date(when)} {clock_time(when)}  {job.description}")
    typer.echo("Press Ctrl-C to stop.")


def _serve(api_url: str) -> None:
    """Each scheduled run is a subprocess of the runner, given these settings: heartbeats every HEARTBEAT_SECONDS,
    which the crash automation watches (see flows/engine/crashes.py)."""
    with temporary_settings(updates={PREFECT_API_URL: api_url, PREFECT_FLOWS_HEARTBEAT_FREQUENCY: HEARTBEAT_SECONDS}):
        ensure_crash_detection()
        _announce(api_url)
        serve(*deployments(), print_starting_message=False)


def serve_engine(prefect_home: Path, port: int) -> None:
    """Serve every deployment against PREFECT_API_URL, or a local server started (and stopped) here."""
    # Ctrl-C must stop the engine even when started from a shell that ignores SIGINT in background jobs (a handler
    # already raising KeyboardInterrupt, as the CLI's, is kept).
    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL, None):
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        existing = os.environ.get("PREFECT_API_URL")
        if existing:
            _serve(existing)
            return
        typer.echo(f"Starting a local Prefect server (data in {prefect_home}) ...")
        with local_prefect_server(prefect_home, port) as api_url:
            _serve(api_url)
    except KeyboardInterrupt:
        pass
    typer.echo("Stopped.")
