"""The `grants` command line (typer): one module per group of commands; errors become one line and an exit
code. Commands call the jobs (flows.engine.jobs) and grants/, never the other way round."""

from flows.cli.app import app, main

__all__ = ["app", "main"]
