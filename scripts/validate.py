"""Stage 2, validate: check every staged cell against the declared schema, and say what to fix.

The schema's constraints become, per table, one SQL condition that is true for every row that may
break them (required, type, enum, pattern, length, range, calendar dates, date groups, cell length, and
the row rules declared in the package's "rules", compiled by scripts/rules.py).
SQLite evaluates it over the staging table in C; only the rows it flags come back to Python, where
parse_cell gives the exact message and fix. The condition may flag a good row (a decimal point, a
'<' that opens no tag), never miss a bad one. Primary-key uniqueness and foreign keys are queries too.
A row with a problem goes into `bad` (its staging rowids) so that later checks do not report it again.
"""
import datetime
import functools
import itertools
import re

from .problems import Problem
from .read import MAX_CELL_CHARS
from .rules import ROW_KINDS, retired_references, row_rule_problem, row_rule_sql, rules
from .schema import constraints, date_groups, fields, foreign_keys, primary_key, quote_identifier, sql_literal

BOOLEANS = {"true": 1, "false": 0}
# Cells opening with these are run as formulas when a journalist opens the CSV in a spreadsheet.
FORMULA_STARTS = ("=", "+", "@", "-", "\t", "\r")
# Markup has no place in curated text: the seeds are plain text, and exports are opened outside Datasette.
HTML_TAG = re.compile(r"<\s*[A-Za-z/!?]")
NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
INTEGER_LIMIT = 2**63  # SQLite stores integers in 64 bits
PRECISION_LENGTH = {"day": 10, "month": 7, "year": 4}


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
        if abs(value) >= INTEGER_LIMIT:
            raise CellError(f"{text} is too large to store", "check the figure: whole numbers go up to 9,223,372,036,854,775,807")
    elif kind == "number":
        if not NUMBER.fullmatch(text):
            raise CellError(f"{text!r} is not a number", "write a plain decimal number (400 or 2.5)")
        value = float(text)
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
    parts = text.split("-")
    if len(parts) == 3:
        try:
            datetime.date(*map(int, parts))
        except ValueError:
            raise CellError(f"{text!r} is not a date on the calendar", "correct the day or month") from None


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


def row_problems(res: dict, cells: dict) -> list[tuple[str, str, str]]:
    """(column, message, fix) for everything wrong in one row of raw cells."""
    out, typed = [], {}
    for field in fields(res):
        name, text = field["name"], cells[field["name"]]
        if len(text) > MAX_CELL_CHARS:
            out.append((name, f"the cell is {len(text)} characters long (limit {MAX_CELL_CHARS})",
                        "shorten it: an excerpt is the sentence or passage that supports the row"))
            continue
        try:
            typed[name] = parse_cell(field, text)
        except CellError as e:
            out.append((name, str(e), e.fix))
    if not out:
        for prefix in date_groups(res):
            out += date_group_errors(prefix, typed)
    return out


def typed_row(res: dict, cells: dict) -> dict:
    """The typed values of a row that passed validation."""
    return {f["name"]: parse_cell(f, cells[f["name"]]) for f in fields(res)}


# ---------------------------------------------------------------------------------------------
# The same rules as SQL conditions over raw text ('' is an empty cell)


@functools.cache
def _compiled(pattern: str):
    return re.compile(pattern)


def suspects(rows, source):
    """A read transform (see read.stage_resource) adding `_suspect`: 1 when a cell has white space at
    either end or breaks its pattern. These two are checked here, as rows stream in, because Python's
    str.strip and re cost a fraction of SQLite's trim() over the Unicode spaces or a call back into Python."""
    return _suspect_rows(rows, source), ["_suspect"]


def _suspect_rows(rows, source):
    rows = iter(rows)
    first = next(rows, None)  # the header has been read once a row is asked for
    if first is None:
        return
    patterned = [(source.columns.index(f["name"]), _compiled(constraints(f)["pattern"]).fullmatch)
                 for f in fields(source.resource) if "pattern" in constraints(f)]
    for line, cells in itertools.chain([first], rows):
        suspect = any(cell != cell.strip() for cell in cells)
        for i, match in patterned:
            if cells[i] and match(cells[i]) is None:
                suspect = True
        cells.append(int(suspect))
        yield line, cells


def cell_flag_sql(field: dict) -> str:
    """True when the raw cell may break its field's constraints (a superset of parse_cell's refusals)."""
    c = quote_identifier(field["name"])
    cons = constraints(field)
    tests = []  # white space and patterns: see suspects()
    kind = field["type"]
    if kind == "string":
        tests += [f"substr({c}, 1, 1) IN ({', '.join(map(sql_literal, FORMULA_STARTS))})", f"instr({c}, '<') > 0"]
    elif kind in ("integer", "number"):
        # Digits only pass here; a sign or a decimal point goes to parse_cell to be judged.
        tests += [f"{c} GLOB '*[^0-9]*'", f"length({c}) > 18"]
        tests += [f"CAST({c} AS REAL) {op} {cons[key]}" for key, op in (("minimum", "<"), ("maximum", ">")) if key in cons]
    elif kind == "boolean":
        tests.append(f"{c} NOT IN ({', '.join(map(sql_literal, BOOLEANS))})")
    else:
        tests.append("1")
    if "enum" in cons:
        tests.append(f"{c} NOT IN ({', '.join(sql_literal(str(v)) for v in cons['enum'])})")
    if "minLength" in cons:
        tests.append(f"length({c}) < {int(cons['minLength'])}")
    if "maxLength" in cons:
        tests.append(f"length({c}) > {int(cons['maxLength'])}")
    if field.get("partialDate"):
        tests.append(f"({c} GLOB '*-*-*' AND date({c}, '+0 days') IS NOT {c})")
    when_empty = 1 if cons.get("required") else 0
    return f"(CASE WHEN {c} = '' THEN {when_empty} ELSE {' OR '.join(tests)} END OR length({c}) > {MAX_CELL_CHARS})"


def date_group_flag_sql(prefix: str) -> str:
    """True when a date group may disagree with itself (as date_group_errors judges it)."""
    s, e, p = (quote_identifier(f"{prefix}_{part}") for part in ("start", "end", "precision"))
    lengths = " ".join(f"WHEN {sql_literal(k)} THEN {v}" for k, v in PRECISION_LENGTH.items())
    exact = ", ".join(map(sql_literal, PRECISION_LENGTH))
    return (f"(CASE WHEN {p} IN ({exact}) THEN {s} = '' OR length({s}) <> (CASE {p} {lengths} END) OR ({e} <> '' AND {e} <> {s}) "
            f"WHEN {p} = 'range' THEN ({s} = '' AND {e} = '') OR ({s} <> '' AND {e} <> '' AND {s} > {e}) "
            f"WHEN {p} = 'unknown' THEN {s} <> '' OR {e} <> '' ELSE 0 END)")


def row_flag_sql(res: dict) -> str:
    """True for a staged row that may break the schema; `_suspect` comes from suspects()."""
    return " OR ".join(["_suspect"] + [cell_flag_sql(f) for f in fields(res)] + [date_group_flag_sql(p) for p in date_groups(res)]
                       + [row_rule_sql(r) for r in rules(res, *ROW_KINDS)])


# ---------------------------------------------------------------------------------------------
# Checks over a staging table (read.Staged)


def problem_at(source, line: int, column: str, message: str, fix: str) -> Problem:
    return Problem(source.path, line, source.column_number(column), column, message, fix)


def check_cells(conn, source, problems: list, bad: set) -> None:
    """Cells and row rules: each row rule's condition is selected too, so a flagged row says which it broke."""
    names = [f["name"] for f in fields(source.resource)]
    row_rules = rules(source.resource, *ROW_KINDS)
    broken = "".join(f", {row_rule_sql(r)}" for r in row_rules)
    sql = (f"SELECT rowid, _line, {', '.join(map(quote_identifier, names))}{broken} FROM {source.table} "
           f"WHERE {row_flag_sql(source.resource)}")
    for rowid, line, *values in conn.execute(sql):
        cells, flags = values[:len(names)], values[len(names):]
        found = row_problems(source.resource, dict(zip(names, cells)))
        if not found and any(flags):  # a rule is judged on valid cells only
            row = typed_row(source.resource, dict(zip(names, cells)))
            found = [row_rule_problem(rule, row) for rule, flag in zip(row_rules, flags) if flag]
        problems += [problem_at(source, line, *p) for p in found]
        if found:
            bad.add(rowid)


def check_primary_key(conn, source, problems: list, bad: set) -> None:
    """A key used twice is reported on each later line that uses it, naming the first (rows with other problems aside).

    The staging index on the key made here also serves the foreign-key checks into this table."""
    pk = quote_identifier(primary_key(source.resource))
    conn.execute(f"CREATE INDEX stage.{quote_identifier('key_' + source.name)} ON {quote_identifier(source.name)}({pk}, _line)")
    sql = (f"SELECT rowid, _line, {pk} FROM {source.table} WHERE {pk} IN "
           f"(SELECT {pk} FROM {source.table} GROUP BY {pk} HAVING count(*) > 1) ORDER BY {pk}, _line")
    first = {}
    for rowid, line, key in conn.execute(sql):
        if rowid in bad:
            continue
        if key in first:
            problems.append(problem_at(source, line, primary_key(source.resource), f"{key!r} is already used on line {first[key]}",
                                       "give each row its own ID"))
            bad.add(rowid)
        else:
            first[key] = line


def validate_table(conn, source, problems: list, bad: set) -> None:
    check_cells(conn, source, problems, bad)
    check_primary_key(conn, source, problems, bad)


def check_foreign_keys(conn, pkg: dict, staged: dict, problems: list, bad: dict) -> None:
    """Report references to no row read (valid or not: a row with a typo in its own id is reported once,
    not once more for each row that points at it). A table that could not be read whole is not a target:
    its one problem is the one to fix."""
    retired = retired_references(conn, pkg, staged)
    for res in pkg["resources"]:
        source = staged[res["name"]]
        dangling = set()
        for fk, target, ref in foreign_keys(res):
            into = staged[target]
            if not into.complete:
                continue
            col = quote_identifier(fk)
            sql = (f"SELECT rowid, _line, {col} FROM {source.table} WHERE {col} <> '' AND {col} NOT IN "
                   f"(SELECT {quote_identifier(ref)} FROM {into.table})")
            for rowid, line, value in conn.execute(sql):
                if rowid in bad[res["name"]]:
                    continue
                empty = f" ({into.path} has no rows)" if not into.rows else ""
                fix = f"add a row with id {value!r} to {into.path} or correct the reference"
                if (target, value) in retired:
                    path, retired_line, survivor = retired[target, value]
                    empty = f" (it was retired: {path} line {retired_line})"
                    fix = f"use {survivor!r}, which replaced it" if survivor else "remove the reference: the row was removed"
                problems.append(problem_at(source, line, fk, f"{value!r} is not an id in {target}{empty}", fix))
                dangling.add(rowid)
        bad[res["name"]] |= dangling
