"""Stage 1, read: turn each resource's CSV into raw rows (strings), each with its line number.

Accepts a UTF-8 BOM and CRLF line ends (spreadsheets write both); refuses anything that would
silently change a value: bytes that are not UTF-8, NUL bytes, ragged rows, unterminated quotes,
a header that does not match the schema.
"""
import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from .problems import BuildFailed, Problem
from .schema import field_names

# A long excerpt is a few paragraphs; anything this large is a paste accident.
MAX_CELL_CHARS = 20_000


@dataclass
class RawTable:
    resource: dict
    path: str
    rows: list = field(default_factory=list)  # (line, {column: text})
    columns: list = field(default_factory=list)  # header as read, for column numbers
    # False when some rows could not be read (no file, bad bytes, bad header, an unparseable or ragged
    # row): a reference into the table may then point at an unread row, so it is not called dangling.
    complete: bool = True


def row_ids(table: RawTable) -> set | None:
    """Primary keys of every row read, valid or not; None when the table could not be read whole.

    References are checked against these, not against the valid rows only: a row with a typo in
    one cell is reported once, not once more for every row that points at it.
    """
    if not table.complete:
        return None
    (pk,) = table.resource["schema"]["primaryKey"]
    return {cells[pk] for _, cells in table.rows}


def locations(raw_tables: dict) -> tuple[dict, dict, dict]:
    """Per table: the path shown in messages, {column: number}, and the ids of every row read (row_ids)."""
    paths = {name: t.path for name, t in raw_tables.items()}
    columns = {name: {c: i + 1 for i, c in enumerate(t.columns)} for name, t in raw_tables.items()}
    known = {name: row_ids(t) for name, t in raw_tables.items()}
    return paths, columns, known


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def not_utf8(path: str, data: bytes, error: UnicodeDecodeError,
             fix: str = "save the file as UTF-8 (in a spreadsheet: 'CSV UTF-8')") -> Problem:
    """The first byte that is not UTF-8, located by line and character column."""
    good = data[: error.start].decode("utf-8").removeprefix("\ufeff")  # a BOM is not a column
    line, col = _line_col(good, len(good))
    return Problem(path, line, col, "", f"byte 0x{data[error.start]:02x} is not UTF-8", fix)


def decode(path: str, data: bytes, problems: list) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        problems.append(not_utf8(path, data, e))
        return None
    if text.startswith("\ufeff"):
        text = text[1:]
    # Windows line ends (and git's autocrlf, which also rewrites line breaks inside quoted cells)
    # must not change a value: a note with a line break reads the same on every system.
    text = text.replace("\r\n", "\n")
    nul = text.find("\x00")
    if nul >= 0:
        line, col = _line_col(text, nul)
        problems.append(Problem(path, line, col, "", "the file contains a NUL byte",
                                "remove the NUL character (often left by a bad copy or a binary paste)"))
        return None
    return text


def unclosed_quote_cell(row_text: str) -> int:
    """1-based number of the cell whose opening quote is not properly closed, in the text of a row
    that csv refused (its error says only what it met, often lines later); 0 if none is found."""
    cell, i, n = 1, 0, len(row_text)
    while i < n:
        if row_text[i] == '"':
            i += 1
            while True:
                i = row_text.find('"', i)
                if i < 0:
                    return cell  # still open at the end of the file
                if row_text.startswith('""', i):
                    i += 2  # an escaped quote inside the cell
                    continue
                i += 1
                break
            if i < n and row_text[i] not in ",\r\n":
                return cell  # the quote that seemed to close the cell is followed by more text
        while i < n and row_text[i] not in ",\r\n":
            i += 1
        if i >= n or row_text[i] != ",":
            return 0  # the row ended cleanly
        cell, i = cell + 1, i + 1
    return 0


def _line_offset(text: str, line: int) -> int:
    offset = 0
    for _ in range(line - 1):
        offset = text.index("\n", offset) + 1
    return offset


def parse_rows(path: str, text: str, resource: dict, problems: list) -> RawTable:
    # csv refuses cells over 131,072 characters with an error about quoting and loses the rest of the
    # file; lift its limit (the text is in memory already) so that such a cell is read and reported
    # as too long, with its column, below.
    limit = csv.field_size_limit(2**31 - 1)
    try:
        return _parse_rows(path, text, resource, problems)
    finally:
        csv.field_size_limit(limit)


def _parse_rows(path: str, text: str, resource: dict, problems: list) -> RawTable:
    table = RawTable(resource, path)
    expected = field_names(resource)
    if not text.strip():
        problems.append(Problem(path, 1, 0, "", "the file is empty",
                                f"restore the header line: {','.join(expected)}"))
        table.complete = False
        return table
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except csv.Error as e:
        problems.append(Problem(path, 1, unclosed_quote_cell(text), "", f"the header cannot be parsed ({e})",
                                "fix the quoting of the header line"))
        table.complete = False
        return table
    table.columns = header
    missing = [c for c in expected if c not in header]
    unknown = [c for c in header if c not in expected]
    dupes = sorted({c for c in header if header.count(c) > 1})
    for c in missing:
        problems.append(Problem(path, 1, 0, c, "is missing from the header",
                                f"add the column; the schema expects: {','.join(expected)}"))
    for c in unknown:
        problems.append(Problem(path, 1, header.index(c) + 1, c, "is not in the schema",
                                f"rename or remove it, or declare it in data/datapackage.json; expected: {','.join(expected)}"))
    for c in dupes:
        repeat = header.index(c, header.index(c) + 1)  # point at the copy, not at the first one
        problems.append(Problem(path, 1, repeat + 1, c, "appears more than once in the header", "keep one"))
    if missing or unknown or dupes:
        table.complete = False
        return table
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            column = unclosed_quote_cell(text[_line_offset(text, start):])
            problems.append(Problem(path, start, column, header[column - 1] if column else "", f"the row cannot be parsed ({e})",
                                    "close the quoted cell: a quote inside a cell is written twice (\"\")"))
            table.complete = False
            break
        line, start = start, reader.line_num + 1
        if not cells:  # blank line
            continue
        if len(cells) != len(header):
            problems.append(Problem(path, line, 0, "", f"the row has {len(cells)} cells, the header has {len(header)}",
                                    "add or remove cells (a comma inside text needs the cell in double quotes)"))
            table.complete = False
            continue
        for i, cell in enumerate(cells):
            if len(cell) > MAX_CELL_CHARS:
                problems.append(Problem(path, line, i + 1, header[i], f"the cell is {len(cell)} characters long (limit {MAX_CELL_CHARS})",
                                        "shorten it: an excerpt is the sentence or passage that supports the row"))
        table.rows.append((line, dict(zip(header, cells))))
    return table


def display_path(path: Path) -> str:
    """Relative to the working directory when inside it: what a curator types to open the file."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def read_resource(data_dir: Path, resource: dict, problems: list) -> RawTable:
    path = Path(data_dir) / resource["path"]
    shown = display_path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        problems.append(Problem(shown, 0, 0, "", "the file does not exist",
                                f"create it with the header: {','.join(field_names(resource))}"))
        return RawTable(resource, shown, complete=False)
    text = decode(shown, data, problems)
    if text is None:
        return RawTable(resource, shown, complete=False)
    return parse_rows(shown, text, resource, problems)


def read_package(path: Path) -> dict:
    """data/datapackage.json, or BuildFailed naming the file, line and column of what is wrong.

    The schema is read before anything else; a syntax error in it is a curator's typo like any other.
    """
    shown = display_path(path)
    problems = []
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise BuildFailed([Problem(shown, 0, 0, "", "the schema file does not exist",
                                   "restore data/datapackage.json (git checkout data/datapackage.json) or pass the right --data folder")]) from None
    text = decode(shown, data, problems)
    if text is None:
        raise BuildFailed(problems)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise BuildFailed([Problem(shown, e.lineno, e.colno, "", f"is not valid JSON: {e.msg}",
                                   "correct the JSON syntax there (often a missing or extra comma, bracket or quote just before)")]) from None
