"""The kernel every capability stands on: the SQLModel tables, the database engines, settings,
money (Decimal <-> pence), the error types, and how a worksheet prints (sheet_print)."""
