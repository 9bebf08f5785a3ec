"""Content-addressed copies: made from the bytes that were read, never from a file that changed since."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from grants.returns.archive import FileChangedError, final_name, keep, stage

DATA = b"PK\x03\x04 the bytes that were hashed and read"
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(inbox file, staging folder, archive target) for DATA."""
    (tmp_path / "staging").mkdir()
    source = tmp_path / "return.XLSX"
    source.write_bytes(DATA)
    target = final_name(tmp_path / "archive", SHA, source.name, flat=False)
    target.parent.mkdir(parents=True)
    return source, tmp_path / "staging", target


def test_final_names_are_content_addressed_with_a_clean_extension(tmp_path: Path) -> None:
    assert final_name(tmp_path, SHA, "Q2 return.XLSX", flat=False) == tmp_path / SHA[:2] / f"{SHA}.xlsx"
    assert final_name(tmp_path, SHA, "evil.x/../sh", flat=True) == tmp_path / f"{SHA}.bin"


def test_the_staged_copy_is_moved_into_place_and_the_original_left_alone(folders: tuple[Path, Path, Path]) -> None:
    source, staging, target = folders
    staged = stage(DATA, SHA, staging)
    keep(target, SHA, staged, source)
    assert target.read_bytes() == DATA and not Path(staged).exists() and source.read_bytes() == DATA
    assert list(staging.iterdir()) == []


def test_without_a_staged_copy_an_original_changed_since_it_was_read_is_refused(
    folders: tuple[Path, Path, Path]
) -> None:
    source, _, target = folders
    source.write_bytes(DATA + b" edited afterwards")
    with pytest.raises(FileChangedError):
        keep(target, SHA, "", source)
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_a_copy_already_there_ends_up_holding_the_bytes_that_were_read(folders: tuple[Path, Path, Path]) -> None:
    source, staging, target = folders
    target.write_bytes(b"half a file left by a crash")
    keep(target, SHA, "", source)
    assert target.read_bytes() == DATA
    target.write_bytes(b"half a file left by a crash")
    keep(target, SHA, stage(DATA, SHA, staging), source)
    assert target.read_bytes() == DATA and list(staging.iterdir()) == []


def test_staging_into_a_missing_folder_gives_no_staged_copy(tmp_path: Path) -> None:
    assert stage(DATA, SHA, tmp_path / "gone") == ""
