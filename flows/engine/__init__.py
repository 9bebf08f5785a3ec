"""The engine's scheduled jobs: each job as a plain function of the day (jobs.py, no Prefect), the Prefect
flows wrapping them, the one registry of schedules, and serving/deploying them."""
