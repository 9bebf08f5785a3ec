"""`grants mailbox check`: connect, log in, open the folder read-only, count the new messages, look for the folders
handled mail goes to. Nothing is fetched, flagged, moved or created."""

from __future__ import annotations

from dataclasses import dataclass

from grants.mailbox.config import MailboxConfig
from grants.mailbox.imap import MailboxConnection


@dataclass(frozen=True)
class CheckResult:
    """What the check found, each line safe to print (no secret)."""

    description: str
    security: str
    folder: str
    messages: int
    uidvalidity: int
    new: int
    folders: dict[str, bool]
    first_run: bool = False

    def lines(self) -> list[str]:
        found = [f"{name}: {'exists' if ok else 'missing (created on the first move)'}"
                 for name, ok in self.folders.items()]
        return [f"connected to {self.description} ({self.security})",
                f"folder {self.folder}: {self.messages} message(s), UIDVALIDITY {self.uidvalidity}",
                self._new(), *found]

    def _new(self) -> str:
        if self.first_run:
            older = self.messages - self.new
            left = f"; the {older} read before it are left where they are" if older else ""
            return f"not read by the engine before: the first run starts at the first unread message, {self.new} " \
                   f"message(s){left}"
        return f"new since the last run: {self.new} message(s)"


def check_mailbox(box: MailboxConnection, config: MailboxConfig, last: tuple[int, int] | None) -> CheckResult:
    """The check, read-only. `last`: the (UIDVALIDITY, highest UID) handled so far, if any."""
    state = box.open(config.folder, readonly=True)
    if last is None:
        first = box.first_unread()
        since = first - 1 if first is not None else max(state.uidnext - 1, 0)
    else:
        since = last[1] if last[0] == state.uidvalidity else 0
    new = len(box.uids_after(since))
    folders = {name: box.has_folder(name) for name in (config.processed_folder, config.set_aside_folder)}
    return CheckResult(config.description, box.security, config.folder, state.messages, state.uidvalidity, new,
                       folders, first_run=last is None)
