"""Reading a YAML file while keeping where each value was written: `load_marked` parses once and returns the data
with its node tree, and `place` finds the line and column of a key path (a validation error's location, or a
path written as `projects[3].allocation`) in that tree, so a field error can name the line to fix."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


@dataclass(frozen=True)
class Place:
    """A line and column in a file, counted from 1 as editors do."""

    line: int
    column: int

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}"


def load_marked(text: str, loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> tuple[Any, yaml.Node | None]:
    """The document's data (as yaml.load with `loader`, a SafeLoader) and its node tree (None for an empty file).
    Raises yaml.YAMLError as yaml.load does."""
    reader = loader(text)
    try:
        node = reader.get_single_node()
        return (reader.construct_document(node) if node is not None else None), node
    finally:
        reader.dispose()


def path_parts(path: str) -> list[int | str]:
    """`projects[3].budget_lines[0].amount` as the parts a validation error's location has."""
    return [int(index) if index else name for index, name in _PART.findall(path)]


def place(root: yaml.Node | None, parts: Iterable[int | str], *, key: bool = False) -> Place | None:
    """Where the value at `parts` was written (with `key`, its key: for a key that should not be there). A part the
    file does not have (a field that is missing, the tag pydantic adds for a kind of target) is passed over, so a
    missing field is placed at the block it is missing from. None when there is no tree."""
    if root is None:
        return None
    node, key_node = root, None
    for part in parts:
        found = _child(node, part)
        if found is not None:
            key_node, node = found
    mark = (key_node if key and key_node is not None else node).start_mark
    return Place(mark.line + 1, mark.column + 1)


def _child(node: yaml.Node, part: int | str) -> tuple[yaml.Node | None, yaml.Node] | None:
    """(key node, value node) of `part` in a mapping (the last of duplicate keys, as the loader keeps) or a list."""
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
        items: Sequence[yaml.Node] = node.value
        return (None, items[part]) if 0 <= part < len(items) else None
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in reversed(node.value):
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                return key_node, value_node
    return None
