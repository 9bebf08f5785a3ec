"""The kernel every capability stands on: the SQLModel tables, the database engines, settings,
money (Decimal <-> pence) and the error types."""
