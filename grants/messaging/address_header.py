"""The To and Cc headers of an email, written one address per line with each person's name encoded on its own.

The standard library folds an address list containing a non-ASCII name by encoding across the separators: "Seán
O'Callaghan <s@…>, Mererānui Te Whare <m@…>" came out with the comma inside an encoded word, so every reader saw two
people where there were three (the second one's address lost), and a name with a comma ("Smith, Jo") was read as two
addresses. Here each name is a quoted string (ASCII) or its own RFC 2047 encoded words (anything else), and the
addresses are joined with a comma and a fold, so what is read back is exactly who the message is for.
"""

from __future__ import annotations

from collections.abc import Iterable
from email.header import Header
from email.headerregistry import Address
from email.policy import Policy
from email.utils import formataddr
from typing import Protocol


class Person(Protocol):
    """Anyone with a name (may be empty) and an email address."""

    @property
    def name(self) -> str: ...

    @property
    def email(self) -> str: ...


def _mailbox(address: Address, linesep: str) -> str:
    name = address.display_name
    if not name:
        return address.addr_spec
    if name.isascii():
        return formataddr((name, address.addr_spec))  # quoted when it holds a comma, a dot or a quote
    return f"{Header(name, 'utf-8').encode(linesep=linesep)} <{address.addr_spec}>"


class AddressHeader(str):
    """A To or Cc header value the email policy stores and writes as it is (it has `name`, `addresses`, `fold`)."""

    name: str
    addresses: tuple[Address, ...]

    def __new__(cls, name: str, people: Iterable[Person]) -> AddressHeader:
        addresses = tuple(Address(display_name=p.name, addr_spec=p.email) for p in people)
        header = super().__new__(cls, ", ".join(str(a) for a in addresses))
        header.name, header.addresses = name, addresses
        return header

    def fold(self, *, policy: Policy) -> str:
        """The header as written in the message: one address per line."""
        linesep = policy.linesep
        return f"{self.name}: " + f",{linesep} ".join(_mailbox(a, linesep) for a in self.addresses) + linesep
