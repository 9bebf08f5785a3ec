"""The returns mailbox: its settings, the IMAP connection behind a small protocol, reading new mail into ingest,
and the answers to mail that carries no return. Sits above messaging and returns."""
