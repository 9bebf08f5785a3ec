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
from sqlmodel import Session, col, select

from grants.kernel import audit
from grants.kernel import models as m
from grants.kernel.errors import GrantsError, InputError, NotFoundError

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD = 12
LOCKED = "Too many failed attempts: this account is locked for a few minutes"
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


def check_password(password: str, field: str = "password") -> None:
    """The one strength rule for every new password (CLI and web): InputError naming the field when too weak."""
    if len(password) < MIN_PASSWORD:
        raise InputError(field, f"the password must be at least {MIN_PASSWORD} characters")
    if not password.strip():
        raise InputError(field, "the password cannot be only spaces")


def temporary_password() -> str:
    """A random password an administrator gives someone (20 characters in groups: easy to read out and type)."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


def add_account(session: Session, email: str, role: str, password: str, now: datetime, actor: str, *,
                temporary: bool = False) -> m.Account:
    """Create an account (audited); refuses an unknown role, a short password or an address already in use.
    `temporary`: the person must choose a new password when they first sign in."""
    address = normalise_email(email)
    if role not in RANK:
        raise InputError("role", f"role must be one of {', '.join(RANK)} (got '{role}')")
    check_password(password)
    if session.exec(select(m.Account).where(m.Account.email == address)).first() is not None:
        raise InputError("email", f"an account for {address} already exists")
    account = m.Account(email=address, role=role, password_hash=_HASHER.hash(password), created_at=now,
                        must_change_password=temporary)
    session.add(account)
    session.flush()
    after: dict[str, object] = {"email": address, "role": role}
    if temporary:
        after["must_change_password"] = True
    audit.record(session, actor=actor, action="account.add", at=now, subject=address, after=after)
    return account


class WrongPassword(InputError):
    """The current password given was not right (the failure is counted: commit, then report it)."""


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
    if is_locked(account, now):
        return SignIn(None, LOCKED)
    if not _verify(account.password_hash, password):
        _count_failure(session, account, now)
        return SignIn(None, "Email or password is not right")
    account.failed_logins, account.locked_until, account.last_sign_in_at = 0, None, now
    if _HASHER.check_needs_rehash(account.password_hash):
        account.password_hash = _HASHER.hash(password)
    session.add(account)
    session.flush()
    return SignIn(account)


def is_locked(account: m.Account, now: datetime) -> bool:
    """Whether too many wrong passwords in a row have locked the account for now."""
    return account.locked_until is not None and _aware(account.locked_until) > now


def _count_failure(session: Session, account: m.Account, now: datetime) -> None:
    """One more wrong password in a row; the MAX_FAILURES-th locks the account for LOCKOUT."""
    account.failed_logins += 1
    if account.failed_logins >= MAX_FAILURES:
        account.locked_until, account.failed_logins = now + LOCKOUT, 0
    session.add(account)
    session.flush()


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


def _guard_last_admin(session: Session, account: m.Account, what: str) -> None:
    """Refuse to leave the workspace without an active administrator. The active administrators' rows are locked
    until the transaction ends (SELECT ... FOR UPDATE; SQLite, which has no such clause, runs one writer at a time)
    and read afresh: of two administrators demoting each other at once on PostgreSQL, the second waits for the
    first and then counts one administrator, not two."""
    admins = session.exec(select(m.Account).where(m.Account.role == Role.admin.value, col(m.Account.active))
                          .order_by(col(m.Account.id)).with_for_update()  # one lock order: no deadlock
                          .execution_options(populate_existing=True)).all()
    if account.id not in {admin.id for admin in admins}:  # not (or no longer) an active administrator
        return
    if len(admins) <= 1:
        raise GrantsError(f"{account.email} is the last active administrator: make another account an administrator "
                          f"before you {what} it")


def set_active(session: Session, email: str, active: bool, now: datetime, actor: str) -> m.Account:
    """Deactivate (its sessions, SSO header and calendar link stop at once: every request reads `active`) or
    reactivate an account; audited. The last active administrator cannot be deactivated."""
    account = find_account(session, email)
    if account.active == active:
        raise GrantsError(f"{account.email} is already {'active' if active else 'deactivated'}")
    if not active:
        _guard_last_admin(session, account, "deactivate")
    account.active = active
    session.add(account)
    audit.record(session, actor=actor, action="account.activate" if active else "account.deactivate", at=now,
                 subject=account.email, before={"active": not active}, after={"active": active})
    return account


def set_role(session: Session, email: str, role: str, now: datetime, actor: str) -> m.Account:
    """Give an account another role (it applies from the next request); audited. The last active administrator
    cannot be made a viewer or officer."""
    account = find_account(session, email)
    if role not in RANK:
        raise InputError("role", f"role must be one of {', '.join(RANK)} (got '{role}')")
    if account.role == role:
        raise InputError("role", f"{account.email} is already {'an' if role == Role.admin else 'a'} {role}")
    if role != Role.admin:
        _guard_last_admin(session, account, "demote")
    before, account.role = account.role, role
    session.add(account)
    audit.record(session, actor=actor, action="account.role", at=now, subject=account.email,
                 before={"role": before}, after={"role": role})
    return account


def unlock(session: Session, email: str, now: datetime, actor: str) -> m.Account:
    """Lift a lockout after repeated wrong passwords (and forget the failures counted so far); audited."""
    account = find_account(session, email)
    # any lock on record is lifted, even one this clock sees as over (say one `grants web --as-of` set)
    if account.locked_until is None and account.failed_logins == 0:
        raise GrantsError(f"{account.email} is not locked")
    before = {"locked_until": account.locked_until, "failed_logins": account.failed_logins}
    account.failed_logins, account.locked_until = 0, None
    session.add(account)
    audit.record(session, actor=actor, action="account.unlock", at=now, subject=account.email, before=before,
                 after={"locked_until": None, "failed_logins": 0})
    return account


def set_password(session: Session, email: str, password: str, now: datetime, actor: str, *,
                 temporary: bool = False) -> m.Account:
    """Give an account a new password (its sessions made with the old one end: the hash is in their MAC) and lift a
    lockout; audited (never the password). `temporary`: the person must choose their own at next sign-in."""
    check_password(password)
    account = find_account(session, email)
    account.password_hash = _HASHER.hash(password)
    account.failed_logins, account.locked_until = 0, None
    account.must_change_password = temporary
    session.add(account)
    after: dict[str, object] = {"password": "changed"}
    if temporary:
        after["must_change_password"] = True
    audit.record(session, actor=actor, action="account.password", at=now, subject=account.email, after=after)
    return account


def change_own_password(session: Session, account_id: int, current: str, new: str, confirm: str,
                        now: datetime) -> m.Account:
    """A person changing their own password. InputError by field: the current one wrong (WrongPassword: that counts
    towards the lockout, as a wrong password at sign-in does, so the caller commits before reporting it), the new one
    weak, the same as the current one or not confirmed; a locked account cannot change it."""
    account = session.get(m.Account, account_id)
    if account is None or not account.active:
        raise NotFoundError("no such account")
    if is_locked(account, now):
        raise InputError("current_password", LOCKED)
    if not current:
        raise InputError("current_password", "Enter your current password")
    if not _verify(account.password_hash, current):
        _count_failure(session, account, now)
        raise WrongPassword("current_password", "The current password is not right")
    check_password(new)
    if new != confirm:
        raise InputError("confirm_password", "The two new passwords are not the same")
    if new == current:
        raise InputError("password", "Choose a password different from the current one")
    return set_password(session, account.email, new, now, account.email)


def accounts(session: Session) -> list[m.Account]:
    """Every account, by email."""
    return list(session.exec(select(m.Account).order_by(m.Account.email)))
