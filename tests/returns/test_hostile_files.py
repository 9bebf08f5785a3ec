"""Hostile, broken and foreign files: each rejected with one clear code, quarantined, the database untouched."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from grants.kernel import models as m
from grants.kernel.db import create_schema, get_engine
from grants.returns import layout as lay
from grants.returns.identity import Expected
from grants.returns.ingest import Source
from grants.returns.safety import OLE_MAGIC, Limits
from tests.factories import load_example
from tests.returns_kit import _stop_parser_pool, fill, ingest, issue, member, rezip  # noqa: F401

SPEND_SHEET = "xl/worksheets/sheet3.xml"


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Engine]:
    """A real SQLite file with the example programme (zip-level checks need no second database)."""
    engine = get_engine(f"sqlite:///{tmp_path / 'grants.db'}")
    create_schema(engine)
    load_example(engine)
    yield engine
    engine.dispose()
    get_engine.cache_clear()


@pytest.fixture
def good(sqlite: Engine, tmp_path: Path) -> Path:
    """A correctly filled Active Bystander return (not yet ingested)."""
    return fill(issue(sqlite, tmp_path / "issued"), {"spend__design": 100}, tmp_path / "good.xlsx")


def _quarantined_alone(engine: Engine, tmp_path: Path, path: Path, code: str, **kwargs: object) -> None:
    [result] = ingest(engine, tmp_path, path, **kwargs)
    assert (result.outcome, [p.code for p in result.problems]) == ("quarantined", [code])
    assert Path(result.stored_path).parent == tmp_path / "quarantine" and Path(result.stored_path).exists()
    assert not path.exists()
    with Session(engine) as session:
        assert session.exec(select(m.Return)).all() == []
        [received] = session.exec(select(m.ReceivedFile)).all()
        assert (received.outcome, received.sha256) == ("quarantined", result.sha256)


def _ole(tmp_path: Path, name: str, body: bytes) -> Path:
    """A compound-file (OLE) container as legacy .xls and encrypted .xlsx files are: signature, then streams."""
    path = tmp_path / name
    path.write_bytes(OLE_MAGIC + b"\x00" * 504 + body + b"\x00" * 1024)
    return path


def test_renamed_csv_is_not_an_xlsx(sqlite: Engine, tmp_path: Path) -> None:
    path = tmp_path / "return.xlsx"
    path.write_text("line,spend\ndesign,100\n")
    _quarantined_alone(sqlite, tmp_path, path, "not-an-xlsx")


def test_empty_file_is_not_an_xlsx(sqlite: Engine, tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    _quarantined_alone(sqlite, tmp_path, path, "not-an-xlsx")


def test_truncated_workbook_is_left_for_one_more_run_then_quarantined_as_damaged(
    sqlite: Engine, tmp_path: Path, good: Path
) -> None:
    """It may have been read while still being copied in: the next run tries it again before quarantining it."""
    path = tmp_path / "cut.xlsx"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    [first] = ingest(sqlite, tmp_path, path)
    assert (first.outcome, [p.code for p in first.problems]) == ("waiting", ["damaged-zip"]) and path.exists()
    with Session(sqlite) as session:
        assert session.exec(select(m.ReceivedFile)).all() == []
    _quarantined_alone(sqlite, tmp_path, path, "damaged-zip")


def test_truncated_workbook_sent_other_than_through_the_inbox_is_quarantined_at_once(
    sqlite: Engine, tmp_path: Path, good: Path
) -> None:
    path = tmp_path / "cut.xlsx"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    _quarantined_alone(sqlite, tmp_path, path, "damaged-zip", source=Source("email", "lead@example.org"))


def test_legacy_xls_is_rejected_as_legacy_xls(sqlite: Engine, tmp_path: Path) -> None:
    _quarantined_alone(sqlite, tmp_path, _ole(tmp_path, "old.xls", "Workbook".encode("utf-16-le")), "legacy-xls")


def test_password_protected_workbook_is_rejected(sqlite: Engine, tmp_path: Path) -> None:
    body = "EncryptionInfo".encode("utf-16-le") + b"\x00" * 64 + "EncryptedPackage".encode("utf-16-le")
    _quarantined_alone(sqlite, tmp_path, _ole(tmp_path, "locked.xlsx", body), "password-protected")


def test_macro_enabled_workbook_is_rejected(sqlite: Engine, tmp_path: Path, good: Path) -> None:
    path = rezip(good, tmp_path / "macro.xlsm", add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 macro"})
    _quarantined_alone(sqlite, tmp_path, path, "macro-enabled")


def test_oversized_file_is_rejected_before_reading(sqlite: Engine, tmp_path: Path, good: Path) -> None:
    _quarantined_alone(sqlite, tmp_path, good, "file-too-large", limits=Limits(max_file_bytes=4_000))


def test_zip_bomb_expanding_beyond_the_limit_is_rejected(sqlite: Engine, tmp_path: Path, good: Path) -> None:
    path = rezip(good, tmp_path / "bomb.xlsx", add={"xl/media/filler.xml": b" " * 60_000_000})
    assert path.stat().st_size < 200_000
    _quarantined_alone(sqlite, tmp_path, path, "zip-bomb")


def test_highly_compressed_member_is_rejected_as_zip_bomb(sqlite: Engine, tmp_path: Path, good: Path) -> None:
    strings = member(good, SPEND_SHEET).replace(b"</worksheet>", b"<!--" + b"x" * 3_000_000 + b"--></worksheet>")
    path = rezip(good, tmp_path / "bomb.xlsx", replace={SPEND_SHEET: strings})
    _quarantined_alone(sqlite, tmp_path, path, "zip-bomb")


def test_too_many_members_is_rejected_as_zip_bomb(sqlite: Engine, tmp_path: Path, good: Path) -> None:
    path = rezip(good, tmp_path / "many.xlsx", add={f"xl/media/{i}.bin": b"x" for i in range(300)})
    _quarantined_alone(sqlite, tmp_path, path, "zip-bomb")


@pytest.mark.parametrize("trick", ["dimension", "far-cell"])
def test_sheet_reaching_far_beyond_a_return_is_rejected(sqlite: Engine, tmp_path: Path, good: Path,
                                                         trick: str) -> None:
    xml = member(good, SPEND_SHEET)
    if trick == "dimension":
        xml = xml.replace(b'<dimension ref="A1:I11" />', b'<dimension ref="A1:XFD1048576" />')
    else:
        xml = xml.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row></sheetData>')
    _quarantined_alone(sqlite, tmp_path, rezip(good, tmp_path / "huge.xlsx", replace={SPEND_SHEET: xml}),
                       "sheet-too-large")


def test_xml_entity_expansion_is_rejected(sqlite: Engine, tmp_path: Path, good: Path) -> None:
    lol = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
           b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
           b"<si><t>&lol2;</t></si></sst>")
    path = rezip(good, tmp_path / "lol.xlsx", add={"xl/sharedStrings.xml": lol})
    _quarantined_alone(sqlite, tmp_path, path, "unsafe-xml")


def test_a_dtd_pushed_past_the_first_kilobytes_by_a_comment_is_still_rejected(sqlite: Engine, tmp_path: Path,
                                                                             good: Path) -> None:
    lol = (b'<?xml version="1.0"?><!--' + b" padding" * 2_000 + b'--><!dOcTyPe lolz [<!ENTITY lol "lol">]>'
           b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
           b"<si><t>&lol;</t></si></sst>")
    path = rezip(good, tmp_path / "late-dtd.xlsx", add={"xl/sharedStrings.xml": lol})
    _quarantined_alone(sqlite, tmp_path, path, "unsafe-xml")


def test_a_workbook_that_crashes_the_reader_is_quarantined_and_the_others_still_ingested(
    sqlite: Engine, tmp_path: Path, good: Path
) -> None:
    far_cell = b'<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row></sheetData>'
    xml = member(good, SPEND_SHEET).replace(b"</sheetData>", far_cell)  # calamine aborts the process on this
    crasher = rezip(good, tmp_path / "crash.xlsx", replace={SPEND_SHEET: xml})
    lax = Limits(max_rows=2_000_000, max_cols=20_000, memory_bytes=400 * 1024 * 1024)
    crashed, fine = ingest(sqlite, tmp_path, crasher, good, limits=lax)
    assert (crashed.outcome, [p.code for p in crashed.problems]) == ("quarantined", ["unreadable-workbook"])
    assert fine.outcome == "accepted"


def test_plain_workbook_is_not_a_return(sqlite: Engine, tmp_path: Path) -> None:
    wb = Workbook()
    wb.active["A1"] = "My spend: 300"
    wb.save(tmp_path / "mine.xlsx")
    _quarantined_alone(sqlite, tmp_path, tmp_path / "mine.xlsx", "not-a-return")


def _edit_meta(path: Path, out: Path, **values: str) -> Path:
    wb = load_workbook(path)
    for row in wb[lay.META].iter_rows():
        if str(row[0].value) in values:
            row[1].value = values[str(row[0].value)]
    wb.save(out)
    return out


def test_workbook_from_an_old_template_version_is_rejected(sqlite: Engine, tmp_path: Path, good: Path) -> None:
    path = _edit_meta(good, tmp_path / "old.xlsx", template_version="0")
    _quarantined_alone(sqlite, tmp_path, path, "old-template-version")


def test_renamed_return_is_still_recognised_by_its_content(sqlite: Engine, tmp_path: Path, good: Path) -> None:
    renamed = good.rename(tmp_path / "Copy of my return FINAL (2).XLS")
    [result] = ingest(sqlite, tmp_path, renamed)
    assert (result.outcome, result.project, result.period) == ("accepted", "active-bystander", "2024-25-Q2")


@pytest.fixture
def issued(engine: Engine, tmp_path: Path) -> Path:
    load_example(engine)
    return fill(issue(engine, tmp_path / "issued"), {"spend__design": 100}, tmp_path / "filled.xlsx")


def test_project_changed_in_the_metadata_fails_the_signature(engine: Engine, tmp_path: Path, issued: Path) -> None:
    path = _edit_meta(issued, tmp_path / "altered.xlsx", project="man-culture")
    _quarantined_alone(engine, tmp_path, path, "signature-invalid")


def test_workbook_signed_with_another_key_is_a_forgery(engine: Engine, tmp_path: Path) -> None:
    load_example(engine)
    forged = fill(issue(engine, tmp_path / "issued", key=b"not-our-key"), {}, tmp_path / "forged.xlsx")
    _quarantined_alone(engine, tmp_path, forged, "signature-invalid")


def test_genuinely_signed_workbook_for_a_project_not_in_the_register_is_rejected(
    engine: Engine, tmp_path: Path, issued: Path
) -> None:
    meta = {"template_id": lay.TEMPLATE_ID, "template_version": lay.TEMPLATE_VERSION, "grant": "SVD-2024-25",
            "project": "closed-project", "period": "2024-25-Q2"}
    wb = load_workbook(issued)
    meta["fields"] = str(wb[lay.META]["B6"].value)
    signature = lay.sign(b"test-signing-key", *(meta[k] for k in lay.META_KEYS[:-1]))
    path = _edit_meta(issued, tmp_path / "gone.xlsx", project="closed-project", signature=signature)
    _quarantined_alone(engine, tmp_path, path, "unknown-project-or-period")


@pytest.mark.parametrize(("expected", "code"), [(Expected(project="man-culture"), "wrong-project"),
                                                 (Expected(period="2024-25-Q3"), "wrong-period")])
def test_workbook_for_another_project_or_period_than_expected_is_rejected(
    engine: Engine, tmp_path: Path, issued: Path, expected: Expected, code: str
) -> None:
    _quarantined_alone(engine, tmp_path, issued, code, expected=expected)


def test_one_bad_file_never_stops_the_others(sqlite: Engine, tmp_path: Path, good: Path) -> None:
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"PK\x03\x04 not really")
    with zipfile.ZipFile(tmp_path / "macro.xlsx", "w") as z:
        z.writestr("xl/vbaProject.bin", b"x")
    results = ingest(sqlite, tmp_path, junk, tmp_path / "macro.xlsx", good, source=Source("path"))
    assert [r.outcome for r in results] == ["quarantined", "quarantined", "accepted"]
