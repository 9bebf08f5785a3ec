"""Exceptions for "the program can't go on"; bad data is reported as problems, not raised."""

from collections.abc import Iterable


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


def yaml_problem(path: object, exc: Exception) -> str:
    """`file: line N, column M: not valid YAML: what` for a settings file (the problem never quotes a value)."""
    mark = getattr(exc, "problem_mark", None)
    where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark is not None else ""
    problem = getattr(exc, "problem", None)
    return f"{path}:{where} not valid YAML" + (f": {problem}" if problem else "")


def setting_error(file: object, place: object | None, loc: Iterable[object], kind: str, example: str) -> str:
    """`file: line N, column M: key.path: what is wrong` for a settings file's field (the value is never quoted)."""
    where = f"{file}: {place}:" if place else f"{file}:"
    return f"{where} {'.'.join(str(part) for part in loc)}: {setting_problem(kind, example)}"


def setting_problem(kind: str, example: str) -> str:
    """A settings file's field error in words where pydantic's type says it all; else the type (never the value,
    which may hold a secret)."""
    if kind == "extra_forbidden":
        return f"unknown setting (check the spelling; see {example})"
    if kind == "missing":
        return "required setting is missing"
    return kind
