"""The grant monitoring domain core: register, calendar, returns, checks, risks, chasing.

Nothing in this package imports Prefect or reads the clock: every decision takes `as_of`.
"""
