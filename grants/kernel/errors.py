"""Exceptions for "the program can't go on"; bad data is reported as problems, not raised."""


class GrantsError(Exception):
    """Base class: the CLI prints the message as one line and exits non-zero."""


class ConfigError(GrantsError):
    """The programme configuration is missing or invalid."""

    def __init__(self, problems: "list[object]") -> None:
        self.problems = problems
        lines = [str(p) for p in problems]
        super().__init__(
            f"{len(lines)} configuration problem(s): " + "; ".join(lines[:3]) + ("; ..." if len(lines) > 3 else "")
        )


class NotFoundError(GrantsError):
    """A grant, project, period or other record named by the user does not exist."""


class InputError(GrantsError):
    """What someone typed cannot be used; `field` names the form field (or CLI option) it is about."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)
