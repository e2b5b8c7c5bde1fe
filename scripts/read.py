"""Stage 1, read: stream each resource's CSV into a staging table of raw text, one row per data line.

Nothing is held in memory: rows go from the csv reader straight into SQLite (`stage.<table>`, every
cell as written, plus `_line`, its physical line number), where the next stages check them with SQL.
Accepts a UTF-8 BOM and CRLF line ends (spreadsheets write both); refuses anything that would
silently change a value: bytes that are not UTF-8, NUL bytes, ragged rows, unterminated quotes,
a header that does not match the schema.
"""
import csv
import io
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

from .problems import BuildFailed, Problem
from .progress import Progress
from .schema import field_names, primary_key, quote_identifier

# A long excerpt is a few paragraphs; anything this large is a paste accident.
MAX_CELL_CHARS = 20_000
CHUNK = 1 << 20


@dataclass
class Staged:
    """What reading one CSV produced: where its rows are staged and what is known about them."""
    resource: dict
    path: str  # as shown in messages
    columns: list = field(default_factory=list)  # header as read, for column numbers
    extra: list = field(default_factory=list)  # staging columns added by a transform (offsets)
    rows: int = 0
    # False when some rows could not be read (no file, bad bytes, bad header, an unparseable or ragged
    # row): a reference into the table may then point at an unread row, so it is not called dangling.
    complete: bool = True
    in_key_order: bool = True  # rows arrived sorted by primary key: loading needs no sort

    @property
    def name(self) -> str:
        return self.resource["name"]

    @property
    def table(self) -> str:
        return f"stage.{quote_identifier(self.name)}"

    def column_number(self, name: str) -> int:
        return self.columns.index(name) + 1 if name in self.columns else 0


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
    """The text of a whole file, or None with the problem that prevents reading it."""
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


@dataclass
class ByteScan:
    nul: bool = False
    cr: bool = False
    blank: bool = True  # nothing but white space


def scan_bytes(path: Path) -> ByteScan:
    """One pass over the bytes, in C: what decides how the file is read (a NUL, CR line ends, nothing)."""
    scan = ByteScan()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            scan.nul = scan.nul or b"\x00" in chunk
            scan.cr = scan.cr or b"\r" in chunk
            scan.blank = scan.blank and not chunk.strip()
    return scan


def csv_rows(lines, source: Staged, problems: list, text_of):
    """(line, cells) for each data row of a CSV given as an iterable of lines; problems appended.

    text_of(): the whole file's text, asked for only to locate an unparseable row's open quote.
    """
    res, path = source.resource, source.path
    expected = field_names(res)
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        header = None
    except csv.Error as e:
        problems.append(Problem(path, 1, unclosed_quote_cell(text_of()), "",
                                f"the header cannot be parsed ({e})", "fix the quoting of the header line"))
        source.complete = False
        return
    if not header or not "".join(header).strip() and next(reader, None) is None:
        problems.append(Problem(path, 1, 0, "", "the file is empty", f"restore the header line: {','.join(expected)}"))
        source.complete = False
        return
    source.columns = header
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
        source.complete = False
        return
    width, key = len(header), header.index(primary_key(res))
    previous = ""
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            text = text_of()
            column = unclosed_quote_cell(text[_line_offset(text, start):]) if text else 0
            problems.append(Problem(path, start, column, header[column - 1] if column else "", f"the row cannot be parsed ({e})",
                                    "close the quoted cell: a quote inside a cell is written twice (\"\")"))
            source.complete = False
            break
        line, start = start, reader.line_num + 1
        if not cells:  # blank line
            continue
        if len(cells) != width:
            problems.append(Problem(path, line, 0, "", f"the row has {len(cells)} cells, the header has {width}",
                                    "add or remove cells (a comma inside text needs the cell in double quotes)"))
            source.complete = False
            continue
        if cells[key] < previous:
            source.in_key_order = False
        previous = cells[key]
        yield line, cells


def display_path(path: Path) -> str:
    """Relative to the working directory when inside it: what a curator types to open the file."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _file_lines(f, scan: ByteScan):
    if scan.cr:  # as decode() does for a whole file: CRLF inside a quoted cell becomes LF
        return (line.replace("\r\n", "\n") for line in f)
    return f


def stage_resource(conn, data_dir: Path, res: dict, problems: list, transforms=(), progress: Progress | None = None) -> Staged:
    """Stream data_dir/<path> into stage.<name>.

    Each transform(rows, staged) returns (rows, names): the rows, each with values for the new
    staging columns `names` appended, in order (a check or a location computed as rows stream by).

    The staging table has the schema's columns whatever the file holds, so that later stages can
    query it even when nothing could be read.
    """
    path = Path(data_dir) / res["path"]
    source = Staged(res, display_path(path))
    names = field_names(res)
    rows = None
    if not path.exists():
        problems.append(Problem(source.path, 0, 0, "", "the file does not exist",
                                f"create it with the header: {','.join(names)}"))
    elif (scan := scan_bytes(path)).nul:
        decode(source.path, path.read_bytes(), problems)  # reports the first bad byte or the NUL, located
    elif scan.blank:
        problems.append(Problem(source.path, 1, 0, "", "the file is empty", f"restore the header line: {','.join(names)}"))
    else:
        file = open(path, encoding="utf-8-sig", newline="")
        rows = csv_rows(_file_lines(file, scan), source, problems, lambda: decode(source.path, path.read_bytes(), []) or "")
    for transform in transforms:  # also when nothing can be read: the columns exist for later stages
        transformed, names_added = transform(iter(()) if rows is None else rows, source)
        rows = None if rows is None else transformed
        source.extra += names_added
    cols = ", ".join(quote_identifier(c) for c in ["_line", *names, *source.extra])
    conn.execute(f"CREATE TABLE {source.table} ({cols})")
    if rows is None:
        source.complete = False
        return source
    # csv refuses cells over 131,072 characters with an error about quoting and loses the rest of the
    # file; lift its limit so that such a cell is read and reported as too long, with its column.
    limit = csv.field_size_limit(2**31 - 1)
    try:
        rows = (progress or Progress(enabled=False)).count(f"read {source.name}", rows)
        first = next(rows, None)  # reads the header: the order of the columns
        if first is not None:
            order = ", ".join(quote_identifier(c) for c in ["_line", *source.columns, *source.extra])
            marks = ", ".join("?" for _ in range(1 + len(source.columns) + len(source.extra)))
            before = conn.total_changes
            with conn:
                conn.executemany(f"INSERT INTO {source.table} ({order}) VALUES ({marks})",
                                 ((line, *cells) for line, cells in itertools.chain([first], rows)))
            source.rows = conn.total_changes - before
    except UnicodeDecodeError:
        problems.append(not_utf8(source.path, *_first_decode_error(path.read_bytes())))
        source.complete, source.rows = False, 0
        with conn:  # as if nothing was read: a row before the bad byte is not reported on its own
            conn.execute(f"DELETE FROM {source.table}")
    finally:
        csv.field_size_limit(limit)
        file.close()
    return source


def _first_decode_error(data: bytes) -> tuple[bytes, UnicodeDecodeError]:
    """The decoding error of the whole file (a streaming decoder's error has offsets into one chunk)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        return data, e
    raise AssertionError("the file decoded on a second reading")


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
