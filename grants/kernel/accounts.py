"""Workspace accounts: roles, Argon2 password hashes, sign-in with a lockout after repeated failures, and the
secret token of each person's calendar subscription (only its SHA-256 is stored)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, select

from grants.kernel import audit
from grants.kernel import models as m
from grants.kernel.errors import GrantsError, InputError, NotFoundError

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD = 12
_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("not-a-real-password-used-for-timing")


class Role(StrEnum):
    """viewer: sees and exports; officer: also acts; admin: also manages accounts."""

    viewer = "viewer"
    officer = "officer"
    admin = "admin"


RANK = {Role.viewer: 0, Role.officer: 1, Role.admin: 2}


def allows(role: str, needed: Role) -> bool:
    """Whether an account with `role` may do what needs `needed`."""
    return role in RANK and RANK[Role(role)] >= RANK[needed]


def normalise_email(email: str) -> str:
    """The address lower-cased and checked for shape (no DNS lookup)."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise GrantsError(f"'{email}' is not an email address: {exc}") from None


def add_account(session: Session, email: str, role: str, password: str, now: datetime, actor: str) -> m.Account:
    """Create an account (audited); refuses an unknown role, a short password or an address already in use."""
    address = normalise_email(email)
    if role not in RANK:
        raise GrantsError(f"role must be one of {', '.join(RANK)} (got '{role}')")
    if len(password) < MIN_PASSWORD:
        raise GrantsError(f"the password must be at least {MIN_PASSWORD} characters")
    if session.exec(select(m.Account).where(m.Account.email == address)).first() is not None:
        raise GrantsError(f"an account for {address} already exists")
    account = m.Account(email=address, role=role, password_hash=_HASHER.hash(password), created_at=now)
    session.add(account)
    session.flush()
    audit.record(session, actor=actor, action="account.add", at=now, subject=address,
                 after={"email": address, "role": role})
    return account


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: the account, or why not (the same words for unknown and wrong)."""

    account: m.Account | None
    error: str = ""


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def sign_in(session: Session, email: str, password: str, now: datetime) -> SignIn:
    """Check a password; after MAX_FAILURES wrong ones in a row the account is locked for LOCKOUT."""
    address = email.strip().lower()
    account = session.exec(select(m.Account).where(m.Account.email == address)).first()
    if account is None or not account.active:
        _verify(_DUMMY_HASH, password)  # the same work whether or not the account exists
        return SignIn(None, "Email or password is not right")
    if account.locked_until is not None and _aware(account.locked_until) > now:
        return SignIn(None, "Too many failed attempts: this account is locked for a few minutes")
    if not _verify(account.password_hash, password):
        account.failed_logins += 1
        if account.failed_logins >= MAX_FAILURES:
            account.locked_until, account.failed_logins = now + LOCKOUT, 0
        session.add(account)
        session.flush()
        return SignIn(None, "Email or password is not right")
    account.failed_logins, account.locked_until = 0, None
    if _HASHER.check_needs_rehash(account.password_hash):
        account.password_hash = _HASHER.hash(password)
    session.add(account)
    session.flush()
    return SignIn(account)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_calendar_token(session: Session, account: m.Account, now: datetime) -> str:
    """A new secret for the account's calendar subscription URL (the old one stops working); shown once."""
    token = secrets.token_urlsafe(32)
    account.calendar_token_hash = _token_hash(token)
    session.add(account)
    audit.record(session, actor=account.email, action="calendar.token", at=now, subject=account.email,
                 after={"calendar_subscription": "new secret link issued"})
    return token


def account_for_calendar_token(session: Session, token: str) -> m.Account | None:
    """The active account whose calendar secret this is, or None."""
    if not token:
        return None
    account = session.exec(select(m.Account).where(m.Account.calendar_token_hash == _token_hash(token))).first()
    return account if account is not None and account.active else None


def find_account(session: Session, email: str) -> m.Account:
    """The account with this email, or NotFoundError."""
    account = session.exec(select(m.Account).where(m.Account.email == email.strip().lower())).first()
    if account is None:
        raise NotFoundError(f"no account for {email.strip()}")
    return account


def set_active(session: Session, email: str, active: bool, now: datetime, actor: str) -> m.Account:
    """Deactivate (its sessions, SSO header and calendar link stop at once: every request reads `active`) or
    reactivate an account; audited."""
    account = find_account(session, email)
    if account.active == active:
        raise GrantsError(f"{account.email} is already {'active' if active else 'deactivated'}")
    account.active = active
    session.add(account)
    audit.record(session, actor=actor, action="account.activate" if active else "account.deactivate", at=now,
                 subject=account.email, before={"active": not active}, after={"active": active})
    return account


def set_password(session: Session, email: str, password: str, now: datetime, actor: str) -> m.Account:
    """Give an account a new password (its sessions made with the old one end: the hash is in their MAC) and lift a
    lockout; audited (never the password)."""
    if len(password) < MIN_PASSWORD:
        raise InputError("password", f"the password must be at least {MIN_PASSWORD} characters")
    account = find_account(session, email)
    account.password_hash = _HASHER.hash(password)
    account.failed_logins, account.locked_until = 0, None
    session.add(account)
    audit.record(session, actor=actor, action="account.password", at=now, subject=account.email,
                 after={"password": "changed"})
    return account


def change_own_password(session: Session, account_id: int, current: str, new: str, now: datetime) -> m.Account:
    """A person changing their own password: the current one must be right; audited."""
    account = session.get(m.Account, account_id)
    if account is None or not account.active:
        raise NotFoundError("no such account")
    if not _verify(account.password_hash, current):
        raise InputError("current", "The current password is not right")
    return set_password(session, account.email, new, now, account.email)


def accounts(session: Session) -> list[m.Account]:
    """Every account, by email."""
    return list(session.exec(select(m.Account).order_by(m.Account.email)))
