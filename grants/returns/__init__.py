"""Return workbooks, written and read: one layout, the signed writer, the sandboxed reader and its safety
limits, then intake: identify, validate, store and version each file; the official (latest accepted) returns."""
