"""Screening of untrusted return files before any spreadsheet reader touches them.

Checks the raw bytes and the zip's members: legacy .xls and encrypted (OLE) files, not a zip, a damaged or truncated
zip, OpenDocument, macros, sizes and member counts (zip bombs), DTDs / entity declarations in the XML, how many
sheets there are and how far each sheet's cells reach. `read_capped` reads a file only once its size is known to be
within the limit (a larger one is hashed in chunks, never held in memory), never through a link or from a special
file.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

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
OPENDOCUMENT = b"application/vnd.oasis.opendocument"
SHEET_PART = re.compile(r"^xl/worksheets/[^/]+\.xml$")
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What an honest return workbook stays well within."""

    max_file_bytes: int = 5_000_000
    max_uncompressed_bytes: int = 50_000_000
    max_members: int = 200
    max_ratio: int = 100  # uncompressed / compressed, for members over 1 MB
    max_rows: int = 2_000
    max_cols: int = 100
    max_sheets: int = 20  # the return has 6; a lead may add a few of their own
    memory_bytes: int = 256 * 1_024 * 1_024  # address-space limit of a parser process (an honest return needs ~30 MB)


def column_number(letters: bytes | str) -> int:
    """'A' -> 1, 'XFD' -> 16384."""
    text = letters.decode() if isinstance(letters, bytes) else letters
    number = 0
    for char in text.upper():
        number = number * 26 + ord(char) - 64
    return number


class NotARegularFile(OSError):
    """The path is a link, a folder or a special file: it is never opened."""


def read_capped(path: Path, max_bytes: int) -> tuple[bytes | None, str, int]:
    """(the bytes, their SHA-256, the size) of a regular file; the bytes are None when it is larger than `max_bytes`
    (then it is hashed in chunks: memory stays bounded whatever its size). Never follows a symbolic link, never
    opens a pipe or device (NotARegularFile)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if os.path.islink(path):
            raise NotARegularFile(f"{path.name} is a symbolic link") from exc
        raise
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise NotARegularFile(f"{path.name} is not a regular file")
        if info.st_size <= max_bytes:
            data = handle.read(max_bytes + 1)
            if len(data) <= max_bytes:
                return data, hashlib.sha256(data).hexdigest(), len(data)
            handle.seek(0)
        digest, size = hashlib.sha256(), 0
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return None, digest.hexdigest(), size


def too_large(size: int, limits: Limits) -> Problem:
    """The problem of a file over the size limit."""
    return problem("file-too-large", f"The file is {size:,} bytes; a return must be under "
                   f"{limits.max_file_bytes:,} bytes. Send the workbook we issued, without pictures.")


def screen(data: bytes, limits: Limits, parts: dict[str, bytes] | None = None) -> list[Problem]:
    """Problems that make the file unsafe or impossible to read as .xlsx; empty if it may be parsed. With `parts`,
    the XML members read while screening are left there (name -> bytes), so the reader need not unzip them again."""
    if len(data) > limits.max_file_bytes:
        return [too_large(len(data), limits)]
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
        return [problem("damaged-zip", f"The file is damaged or incomplete ({exc}): perhaps it was cut short "
                        "while being sent or copied. Please save it again as an Excel Workbook (.xlsx) and resend.")]


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
    if "mimetype" in names and archive.read("mimetype")[:64].startswith(OPENDOCUMENT):
        return [problem("opendocument", "The file was saved as OpenDocument (.ods), which we cannot read. Open it "
                        "and use File > Save As > Excel Workbook (.xlsx), then send that file.")]
    if "xl/workbook.xml" not in names:
        return [problem("not-an-xlsx", "The file is a zip archive but not an Excel workbook.")]
    sheets = sum(1 for n in names if SHEET_PART.match(n))
    if sheets > limits.max_sheets:
        return [problem("too-many-sheets", f"The workbook has {sheets} sheets; the return has 6. Delete the "
                        "sheets you added and send it again.")]
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
