"""Entry points and Prefect glue over the `grants` domain core (CLI, flows, serve)."""
