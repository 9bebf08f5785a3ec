"""The grant programmes: grant files and their validation, quarters and working days, the register in
the database, the chase ladder and monitoring rules they configure, and each return's state by date."""
