"""Stage 1, read: turn each resource's CSV into raw rows (strings), each with its line number.

Accepts a UTF-8 BOM and CRLF line ends (spreadsheets write both); refuses anything that would
silently change a value: bytes that are not UTF-8, NUL bytes, ragged rows, unterminated quotes,
a header that does not match the schema.
"""
import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from .problems import Problem
from .schema import field_names

# A long excerpt is a few paragraphs; anything this large is a paste accident.
MAX_CELL_CHARS = 20_000


@dataclass
class RawTable:
    resource: dict
    path: str
    rows: list = field(default_factory=list)  # (line, {column: text})
    columns: list = field(default_factory=list)  # header as read, for column numbers


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def decode(path: str, data: bytes, problems: list) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        good = data[: e.start].decode("utf-8")
        line, col = _line_col(good, len(good))
        problems.append(Problem(path, line, col, "", f"byte 0x{data[e.start]:02x} is not UTF-8",
                                "save the file as UTF-8 (in a spreadsheet: 'CSV UTF-8')"))
        return None
    if text.startswith("\ufeff"):
        text = text[1:]
    nul = text.find("\x00")
    if nul >= 0:
        line, col = _line_col(text, nul)
        problems.append(Problem(path, line, col, "", "the file contains a NUL byte",
                                "remove the NUL character (often left by a bad copy or a binary paste)"))
        return None
    return text


def parse_rows(path: str, text: str, resource: dict, problems: list) -> RawTable:
    table = RawTable(resource, path)
    expected = field_names(resource)
    if not text.strip():
        problems.append(Problem(path, 1, 0, "", "the file is empty",
                                f"restore the header line: {','.join(expected)}"))
        return table
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except csv.Error as e:
        problems.append(Problem(path, 1, 0, "", f"the header cannot be parsed ({e})", "fix the quoting of the header line"))
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
        problems.append(Problem(path, 1, header.index(c) + 1, c, "appears more than once in the header", "keep one"))
    if missing or unknown or dupes:
        return table
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            problems.append(Problem(path, start, 0, "", f"the row cannot be parsed ({e})",
                                    "close the quoted cell: a quote inside a cell is written twice (\"\")"))
            break
        line, start = start, reader.line_num + 1
        if not cells:  # blank line
            continue
        if len(cells) != len(header):
            problems.append(Problem(path, line, 0, "", f"the row has {len(cells)} cells, the header has {len(header)}",
                                    "add or remove cells (a comma inside text needs the cell in double quotes)"))
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
        return RawTable(resource, shown)
    text = decode(shown, data, problems)
    if text is None:
        return RawTable(resource, shown)
    return parse_rows(shown, text, resource, problems)
