"""The mailbox tests' fixtures: a Dovecot per test process and a fresh mail user per test."""

from tests.mail_support import account, dovecot  # noqa: F401
from tests.returns_kit import _stop_parser_pool  # noqa: F401
