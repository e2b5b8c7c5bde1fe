"""Stage 2, validate: type every cell and check it against the declared schema.

Checks: required, type, enum, pattern, length, minimum, calendar validity of partial dates,
date groups (X_start / X_end / X_precision agree), primary-key uniqueness and foreign keys.
Rows with a problem are kept out of the typed tables so that later stages see only good rows,
but every problem of every file is reported.
"""
import datetime
import re

from .problems import Problem
from .read import locations
from .schema import constraints, date_groups, fields, foreign_keys, primary_key

BOOLEANS = {"true": 1, "false": 0}
# Cells opening with these are run as formulas when a journalist opens the CSV in a spreadsheet.
FORMULA_STARTS = ("=", "+", "@", "-", "\t", "\r")
# Markup has no place in curated text: the seeds are plain text, and exports are opened outside Datasette.
HTML_TAG = re.compile(r"<\s*[A-Za-z/!?]")


class CellError(ValueError):
    def __init__(self, message, fix):
        super().__init__(message)
        self.fix = fix


def parse_cell(field: dict, text: str):
    """Return the typed value of one cell, or raise CellError saying what to fix."""
    cons = constraints(field)
    if text == "":
        if cons.get("required"):
            raise CellError("is required but empty", "fill it in")
        return None
    if text != text.strip():
        raise CellError("has leading or trailing white space", "trim the cell")
    kind = field["type"]
    if kind == "string":
        value = text
        if text.startswith(FORMULA_STARTS):
            raise CellError(f"starts with {text[0]!r}, which spreadsheets run as a formula",
                            "reword the start of the cell (the build never escapes a value: it must be verbatim)")
        tag = HTML_TAG.search(text)
        if tag:
            raise CellError(f"contains HTML markup at character {tag.start() + 1}",
                            "write plain text: remove the tag (the seeds contain no markup)")
    elif kind == "integer":
        if not re.fullmatch(r"-?[0-9]+", text):
            raise CellError(f"{text!r} is not a whole number", "write digits only, without commas or spaces (3000, not 3,000)")
        value = int(text)
    elif kind == "number":
        try:
            value = float(text)
        except ValueError:
            raise CellError(f"{text!r} is not a number", "write a plain decimal number (400 or 2.5)") from None
    elif kind == "boolean":
        if text not in BOOLEANS:
            raise CellError(f"{text!r} is not true or false", "write true or false")
        value = BOOLEANS[text]
    else:
        raise CellError(f"has unsupported type {kind!r}", "use string, integer, number or boolean in data/datapackage.json")
    if "enum" in cons and value not in cons["enum"]:
        raise CellError(f"{text!r} is not an allowed value", "use one of: " + ", ".join(cons["enum"]) + " (defined in data/CODEBOOK.md)")
    if "pattern" in cons and not re.fullmatch(cons["pattern"], text):
        raise CellError(f"{text!r} does not have the expected form", f"match the pattern {cons['pattern']}")
    if "minLength" in cons and len(text) < cons["minLength"]:
        raise CellError(f"is shorter than {cons['minLength']} characters", "give the full value")
    if "maxLength" in cons and len(text) > cons["maxLength"]:
        raise CellError(f"is longer than {cons['maxLength']} characters", "shorten it")
    if "minimum" in cons and value < cons["minimum"]:
        raise CellError(f"{text} is below the minimum {cons['minimum']}", f"use a value of at least {cons['minimum']}")
    if "maximum" in cons and value > cons["maximum"]:
        raise CellError(f"{text} is above the maximum {cons['maximum']}", f"use a value of at most {cons['maximum']}")
    if field.get("partialDate"):
        check_partial_date(text)
    return value


def check_partial_date(text: str) -> None:
    parts = [int(p) for p in text.split("-")]
    if len(parts) == 3:
        try:
            datetime.date(*parts)
        except ValueError:
            raise CellError(f"{text!r} is not a date on the calendar", "correct the day or month") from None


PRECISION_LENGTH = {"day": 10, "month": 7, "year": 4}


def date_group_errors(prefix: str, row: dict) -> list[tuple[str, str, str]]:
    """(column, message, fix) for a date group whose start, end and precision disagree."""
    start, end, precision = row[f"{prefix}_start"], row[f"{prefix}_end"], row[f"{prefix}_precision"]
    col = f"{prefix}_precision"
    if precision in PRECISION_LENGTH:
        want = PRECISION_LENGTH[precision]
        if start is None or len(start) != want or (end is not None and end != start):
            return [(col, f"precision {precision!r} needs {prefix}_start written to that precision and {prefix}_end empty or equal",
                     "write e.g. 2024-10-31 (day), 2024-10 (month) or 2024 (year); never pad a month to a day")]
    elif precision == "range":
        if start is None and end is None:
            return [(col, "precision 'range' needs a start or an end", f"fill {prefix}_start and/or {prefix}_end, or use 'unknown'")]
        if start and end and start > end:
            return [(f"{prefix}_end", f"{prefix}_end {end} is before {prefix}_start {start}", "swap or correct them")]
    elif precision == "unknown" and (start or end):
        return [(col, "precision 'unknown' but a date is given", "say the precision of the date given")]
    return []


def validate_table(raw, problems: list) -> list[tuple[int, dict]]:
    """Typed rows of one raw table; problems appended."""
    res = raw.resource
    column_number = {name: i + 1 for i, name in enumerate(raw.columns)}
    typed = []
    groups = date_groups(res)

    def problem(line, name, message, fix):
        problems.append(Problem(raw.path, line, column_number.get(name, 0), name, message, fix))

    for line, cells in raw.rows:
        row, ok = {}, True
        for field in fields(res):
            name = field["name"]
            try:
                row[name] = parse_cell(field, cells[name])
            except CellError as e:
                problem(line, name, str(e), e.fix)
                ok = False
        if ok:
            for prefix in groups:
                for name, message, fix in date_group_errors(prefix, row):
                    problem(line, name, message, fix)
                    ok = False
        if ok:
            typed.append((line, row))
    pk = primary_key(res)
    seen = {}
    unique = []
    for line, row in typed:
        key = row[pk]
        if key in seen:
            problem(line, pk, f"{key!r} is already used on line {seen[key]}", "give each row its own ID")
            continue
        seen[key] = line
        unique.append((line, row))
    return unique


def check_foreign_keys(pkg: dict, tables: dict, paths: dict, columns: dict, problems: list, known: dict | None = None) -> dict:
    """Drop and report rows whose references point nowhere; returns the surviving tables.

    known: {table: ids of every row read, valid or not, or None when the table could not be read
    whole}. A reference to a row that exists but has its own problem is not reported again, and
    references into an unreadable table are not checked at all: its one problem is the one to fix.
    Without it, references are checked against the valid rows.
    """
    keys = {name: {row[primary_key(r)] for _, row in tables[name]} for name, r in
            ((res["name"], res) for res in pkg["resources"])}
    if known is not None:
        keys = {name: ids if ids is None else ids | keys[name] for name, ids in known.items()}
    out = {}
    for res in pkg["resources"]:
        name = res["name"]
        kept = []
        for line, row in tables[name]:
            ok = True
            for field, target, _ in foreign_keys(res):
                value = row.get(field)
                if value is not None and keys[target] is not None and value not in keys[target]:
                    target_path = paths[target]
                    empty = f" ({target_path} has no rows)" if not keys[target] else ""
                    problems.append(Problem(paths[name], line, columns[name].get(field, 0), field,
                                            f"{value!r} is not an id in {target}{empty}",
                                            f"add a row with id {value!r} to {target_path} or correct the reference"))
                    ok = False
            if ok:
                kept.append((line, row))
        out[name] = kept
    return out


def validate_all(pkg: dict, raw_tables: dict, problems: list, where: tuple | None = None) -> dict:
    """where: read.locations(raw_tables), when the caller has it already."""
    typed = {name: validate_table(raw, problems) for name, raw in raw_tables.items()}
    paths, columns, known = where or locations(raw_tables)
    return check_foreign_keys(pkg, typed, paths, columns, problems, known)
