"""Screening of untrusted return files before any spreadsheet reader touches them.

Checks the raw bytes and the zip's members: legacy .xls and encrypted (OLE) files, not a zip, macros, sizes and
member counts (zip bombs), DTDs / entity declarations in the XML, and how far each sheet's cells reach.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

from grants.returns.problems import Problem, problem

OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
ENCRYPTED_STREAM = "EncryptionInfo".encode("utf-16-le")
ZIP_MAGIC = b"PK\x03\x04"
CELL_REF = re.compile(rb'\sr="([A-Z]{1,3})([0-9]{1,7})"')
ROW_REF = re.compile(rb'<(?:\w+:)?row\s[^>]*?\br="([0-9]{1,7})"')
DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="(?:[A-Z]+[0-9]+:)?([A-Z]{1,3})([0-9]{1,7})"')
# Anywhere in the part, not only its first bytes: a long comment or processing instruction can push a DTD down.
# In XML text and attributes "<" is always escaped, so these can only be markup.
UNSAFE_XML = re.compile(rb"<!(?:doctype|entity)", re.IGNORECASE)


@dataclass(frozen=True)
class Limits:
    """What an honest return workbook stays well within."""

    max_file_bytes: int = 5_000_000
    max_uncompressed_bytes: int = 50_000_000
    max_members: int = 200
    max_ratio: int = 100  # uncompressed / compressed, for members over 1 MB
    max_rows: int = 2_000
    max_cols: int = 100
    memory_bytes: int = 1_024 * 1_024 * 1_024  # address-space limit of a parser process


def column_number(letters: bytes | str) -> int:
    """'A' -> 1, 'XFD' -> 16384."""
    text = letters.decode() if isinstance(letters, bytes) else letters
    number = 0
    for char in text.upper():
        number = number * 26 + ord(char) - 64
    return number


def screen(data: bytes, limits: Limits, parts: dict[str, bytes] | None = None) -> list[Problem]:
    """Problems that make the file unsafe or impossible to read as .xlsx; empty if it may be parsed. With `parts`,
    the XML members read while screening are left there (name -> bytes), so the reader need not unzip them again."""
    if len(data) > limits.max_file_bytes:
        return [problem("file-too-large", f"The file is {len(data):,} bytes; a return must be under "
                        f"{limits.max_file_bytes:,} bytes. Send the workbook we issued, without pictures.")]
    if data.startswith(OLE_MAGIC):
        if ENCRYPTED_STREAM in data:
            return [problem("password-protected", "The workbook is protected with a password to open it. "
                            "Remove the password (File > Info > Protect Workbook) and send it again.")]
        return [problem("legacy-xls", "This is an old-style .xls workbook. Please fill in the .xlsx return "
                        "we sent you and save it as an Excel Workbook (.xlsx).")]
    if not data.startswith(ZIP_MAGIC):
        return [problem("not-an-xlsx", "The file is not an Excel .xlsx workbook. Please send the return "
                        "workbook we issued, saved as .xlsx.")]
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return _members(archive, limits, {} if parts is None else parts)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError) as exc:
        return [problem("not-an-xlsx", f"The file is damaged or not an .xlsx workbook ({exc}). "
                        "Please save it again as an Excel Workbook (.xlsx) and resend.")]


def _members(archive: zipfile.ZipFile, limits: Limits, parts: dict[str, bytes]) -> list[Problem]:
    infos = archive.infolist()
    names = {i.filename.lower() for i in infos}
    total = sum(i.file_size for i in infos)
    if len(infos) > limits.max_members or total > limits.max_uncompressed_bytes:
        return [problem("zip-bomb", f"The workbook holds {len(infos)} parts expanding to {total:,} bytes, far "
                        "beyond what a return needs; it was not opened.")]
    for info in infos:
        if info.file_size > 1_000_000 and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            return [problem("zip-bomb", f"Part {info.filename} expands {info.file_size // max(info.compress_size, 1)}"
                            " times; it was not opened.")]
    if any(n.endswith("vbaproject.bin") for n in names) or (
        "[content_types].xml" in names and b"macroenabled" in archive.read("[Content_Types].xml").lower()
    ):
        return [problem("macro-enabled", "The workbook contains macros (.xlsm). Please save the return as an "
                        "Excel Workbook (.xlsx) without macros and send it again.")]
    if "xl/workbook.xml" not in names:
        return [problem("not-an-xlsx", "The file is a zip archive but not an Excel workbook.")]
    for info in infos:
        lower = info.filename.lower()
        if not lower.endswith((".xml", ".rels", ".vml")):
            continue
        data = parts[info.filename] = archive.read(info)
        if UNSAFE_XML.search(data):
            return [problem("unsafe-xml", f"Part {info.filename} declares XML entities or a DTD, which Excel "
                            "never writes; the file was not opened.")]
        if lower.startswith("xl/worksheets/") and (too_far := _too_far(data, limits)):
            return [problem("sheet-too-large", f"Sheet part {info.filename} reaches {too_far}; a return stays "
                            f"within {limits.max_rows:,} rows and {limits.max_cols} columns. Delete the extra rows "
                            "and columns and resend.")]
    return []


def _too_far(data: bytes, limits: Limits) -> str:
    """'row R, column C' if any cell, row or the sheet's dimension lies beyond the limits, else ''."""
    refs = CELL_REF.findall(data) + DIMENSION.findall(data)
    max_col = max((column_number(letters) for letters in {letters for letters, _ in refs}), default=0)
    max_row = max(map(int, [row for _, row in refs] + ROW_REF.findall(data) or [b"0"]))
    if max_row > limits.max_rows or max_col > limits.max_cols:
        return f"row {max_row:,}, column {max_col:,}"
    return ""
