"""A corpus of malformed inputs, each a small variation of the real data/ and seeds/, built for real.

Every case copies a snapshot of data/ and seeds/ into tmp_path next to the outputs of a good build
(nk_russia.db, build/metadata.json, dist/), breaks one thing, and runs `python -m scripts.build`.
A bad input must be refused: exit 1, one `file:line:column: ... Fix: ...` line per problem (the
expected location is computed from the mutation, never typed in), no traceback, every output
byte-identical and no temporary file left behind. The harmless variants (BOM, CRLF) must build the
same database.

Columns: for a cell, its 1-based column number in the header; for bytes that cannot be decoded
(not UTF-8, NUL), the character column in the physical line; 0 when the whole line or file is meant.
Line 0 means the file has no line to point at (it does not exist; a seed that no row names).
"""
import csv
import hashlib
import io
import json
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from scripts.locate import find_all
from scripts.read import MAX_CELL_CHARS
from scripts.releases import next_version

from .conftest import DATA, ROOT, SEEDS, unrelated_claims

OUT = "nk_russia.db"
BOM = "\ufeff"
MARK = "MUTATION-MARK"  # a placeholder cell value, replaced by raw bytes once the CSV is written


# ---------------------------------------------------------------------------------------------
# Running the build in a workspace: data/, seeds/, metadata.yml and site/ (the build's outputs)


@dataclass(frozen=True)
class Workspace:
    root: Path

    data = property(lambda self: self.root / "data")
    seeds = property(lambda self: self.root / "seeds")
    site = property(lambda self: self.root / "site")

    def csv(self, table: str) -> Path:
        return self.data / f"{table}.csv"

    def build(self) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "scripts.build", "--data", str(self.data), "--seeds", str(self.seeds),
             "--metadata", str(self.root / "metadata.yml"), "--out", str(self.site / OUT),
             "--build-dir", str(self.site / "build"), "--dist", str(self.site / "dist")],
            cwd=ROOT, capture_output=True, text=True)


def snapshot(folder: Path) -> dict:
    """Every file under folder, hidden ones included (a leftover temporary file shows up here)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def dump(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


@pytest.fixture(scope="session")
def good(tmp_path_factory):
    """A snapshot of the inputs (the repository is edited while tests run) and its good build."""
    w = Workspace(tmp_path_factory.mktemp("good"))
    shutil.copytree(DATA, w.data)
    shutil.copytree(SEEDS, w.seeds)
    shutil.copy(ROOT / "metadata.yml", w.root / "metadata.yml")
    result = w.build()
    assert result.returncode == 0, result.stderr
    return w


@pytest.fixture
def workspace(good, tmp_path) -> Workspace:
    """A copy of the good inputs and of the outputs their build produced, ready to be broken."""
    w = Workspace(tmp_path)
    for name in ("data", "seeds", "site"):
        shutil.copytree(good.root / name, w.root / name)
    shutil.copy(good.root / "metadata.yml", w.root / "metadata.yml")
    return w


# ---------------------------------------------------------------------------------------------
# Editing the CSVs and locating what was edited


@dataclass(frozen=True)
class Expect:
    """Where the build must point (file relative to the workspace, e.g. data/claims.csv) and what it must say."""
    file: str
    line: int
    column: int
    words: tuple
    problems: int | None = 1  # the whole report; None when one mistake rightly gives many


def rows_with_lines(path: Path) -> tuple[list, list]:
    """(header, [(physical line, cells)]): lines as a text editor numbers them."""
    reader = csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline=""))
    limit = csv.field_size_limit(2**31 - 1)  # the corpus has a cell beyond csv's default limit
    try:
        header, rows, start = next(reader), [], 2
        for cells in reader:
            rows.append((start, cells))
            start = reader.line_num + 1
    finally:
        csv.field_size_limit(limit)
    return header, rows


def write_rows(path: Path, header: list, rows: list) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([header, *rows])


def pick(rows: list, header: list, where) -> int:
    """Index of the row chosen by where: a row index, or a predicate on the row as a dict."""
    if isinstance(where, int):
        return where % len(rows)
    return next(i for i, (_, cells) in enumerate(rows) if where(dict(zip(header, cells))))


def find(w: Workspace, table: str, where=0) -> tuple[str, int, dict]:
    """(file, line of the chosen row, {column: number})."""
    header, rows = rows_with_lines(w.csv(table))
    return f"data/{table}.csv", rows[pick(rows, header, where)][0], {c: header.index(c) + 1 for c in header}


def edit(w: Workspace, table: str, values: dict, where=0) -> tuple[str, int, dict]:
    """Set cells of one row (a value may be a function of the row); returns find() once written."""
    header, rows = rows_with_lines(w.csv(table))
    i = pick(rows, header, where)
    cells = rows[i][1]
    for column, value in values.items():
        cells[header.index(column)] = value(dict(zip(header, cells))) if callable(value) else value
    write_rows(w.csv(table), header, [c for _, c in rows])
    return find(w, table, i)


def row_of(w: Workspace, table: str, where=0) -> dict:
    header, rows = rows_with_lines(w.csv(table))
    return dict(zip(header, rows[pick(rows, header, where)][1]))


def replace_mark(path: Path, raw: bytes) -> tuple[int, int]:
    """Replace MARK by raw bytes; returns the line and character column where MARK was."""
    text = path.read_text(encoding="utf-8")
    at = text.index(MARK)
    path.write_bytes(text.encode("utf-8").replace(MARK.encode(), raw, 1))
    return location(text, at)


def location(text: str, index: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


def seed_text(w: Workspace, doc_id: str) -> str:
    return (w.seeds / f"{doc_id}.txt").read_text(encoding="utf-8")


def repeated_phrase(text: str) -> str:
    """Three words that occur more than once in text."""
    words = text.split()
    return next(p for p in (" ".join(words[i:i + 3]) for i in range(len(words) - 2))
                if p[0].isalpha() and text.count(p) > 1)


# ---------------------------------------------------------------------------------------------
# The mutations. Each breaks one thing in a Workspace and returns the Expect it calls for
# (None for a harmless variant). Factories build the many one-cell cases.


def cell(table, column, value, *words, where=0, also=None, at=None):
    """Set one cell (and the `also` cells of the same row); the problem is at `at` (default: that cell)."""
    def mutate(w):
        file, line, columns = edit(w, table, {column: value, **(also or {})}, where)
        return Expect(file, line, columns[at or column], words)
    return mutate


def rename_column(table, old, new):
    def mutate(w):
        header, rows = rows_with_lines(w.csv(table))
        column = header.index(old) + 1
        header[column - 1] = new
        write_rows(w.csv(table), header, [c for _, c in rows])
        # The unknown name is reported where it stands; the expected one as missing, on the header line.
        return Expect(f"data/{table}.csv", 1, column, (repr(new), "not in the schema"), problems=2)
    return mutate


def drop_column(table, column):
    def mutate(w):
        header, rows = rows_with_lines(w.csv(table))
        i = header.index(column)
        write_rows(w.csv(table), header[:i] + header[i + 1:], [c[:i] + c[i + 1:] for _, c in rows])
        return Expect(f"data/{table}.csv", 1, 0, (repr(column), "missing from the header"))
    return mutate


def add_column(table, column, value):
    def mutate(w):
        header, rows = rows_with_lines(w.csv(table))
        write_rows(w.csv(table), header + [column], [c + [value] for _, c in rows])
        return Expect(f"data/{table}.csv", 1, len(header) + 1, (repr(column), "not in the schema"))
    return mutate


def repeat_column(table, column):
    def mutate(w):
        header, rows = rows_with_lines(w.csv(table))
        i = header.index(column) + 1
        write_rows(w.csv(table), header[:i] + [column] + header[i:], [c[:i] + [c[i - 1]] + c[i:] for _, c in rows])
        return Expect(f"data/{table}.csv", 1, i + 1, (repr(column), "more than once"))
    return mutate


def ragged(table, change, where=0):
    """Give one row too few or too many cells: change(cells) -> cells."""
    def mutate(w):
        header, rows = rows_with_lines(w.csv(table))
        i = pick(rows, header, where)
        line, cells = rows[i]
        rows[i] = (line, change(cells))
        write_rows(w.csv(table), header, [c for _, c in rows])
        return Expect(f"data/{table}.csv", line, 0, (f"has {len(rows[i][1])} cells", f"header has {len(header)}"))
    return mutate


def raw_bytes_in_cell(table, column, prefix, raw, *words, where=0):
    """Write `prefix` + raw bytes into a cell: the problem is at the first raw byte's character column."""
    def mutate(w):
        file, _, _ = edit(w, table, {column: prefix + MARK}, where)
        line, col = replace_mark(w.csv(table), raw)
        return Expect(file, line, col, words)
    return mutate


def open_quote(table, column, text, where=0):
    """Replace a cell by raw `"text`: a quoted cell that is never properly closed."""
    def mutate(w):
        file, line, columns = edit(w, table, {column: MARK}, where)
        replace_mark(w.csv(table), b'"' + text.encode())
        return Expect(file, line, columns[column], ("cannot be parsed", repr(column), '""'))
    return mutate


def duplicate_key(w):
    header, rows = rows_with_lines(w.csv("claims"))
    first_line, first = rows[0]
    write_rows(w.csv("claims"), header, [c for _, c in rows] + [list(first)])
    line = rows_with_lines(w.csv("claims"))[1][-1][0]
    return Expect("data/claims.csv", line, header.index("id") + 1, (repr(first[0]), f"already used on line {first_line}"))


def excerpt_twice(w):
    """An appearance whose excerpt is a phrase that its document contains more than once."""
    doc_id = row_of(w, "appearances")["document_id"]
    phrase = repeated_phrase(seed_text(w, doc_id))
    file, line, columns = edit(w, "appearances", {"excerpt": phrase, "excerpt_occurrence": ""})
    return Expect(file, line, columns["excerpt"], (f"occurs {len(find_all(seed_text(w, doc_id), phrase))} times", "excerpt_occurrence"))


def excerpt_retyped_apostrophe(w):
    """Typographic apostrophe retyped as a straight one: the fix says so."""
    file, line, columns = edit(w, "appearances", {"excerpt": lambda r: r["excerpt"].replace("’", "'")},
                               where=lambda r: "’" in r["excerpt"])
    return Expect(file, line, columns["excerpt"], ("not found in seeds/", "apostrophes"))


def change_seed(w):
    doc = row_of(w, "documents")
    seed = w.seeds / f"{doc['id']}.txt"
    seed.write_bytes(seed.read_bytes().replace(b" ", b"  ", 1))
    file, line, columns = find(w, "documents", 0)
    return Expect(file, line, columns["sha256"], ("changed after curation",))


def remove_seed(w):
    doc = row_of(w, "documents", 1)
    (w.seeds / f"{doc['id']}.txt").unlink()
    file, line, columns = find(w, "documents", 1)
    return Expect(file, line, columns["id"], ("no seed file", f"{doc['id']}.txt"))


def unlisted_seed(w):
    (w.seeds / "999_0123456789abcdef.txt").write_text("A text that no documents row names.\n", encoding="utf-8")
    return Expect("data/documents.csv", 0, 0, ("999_0123456789abcdef.txt", "has no row in documents"))


def seed_not_utf8(w):
    """A new seed saved in Latin-1, its checksum recorded all the same."""
    doc = row_of(w, "documents")
    seed = w.seeds / f"{doc['id']}.txt"
    good = seed.read_bytes() + b"Caf"
    seed.write_bytes(good + b"\xe9\n")
    edit(w, "documents", {"sha256": hashlib.sha256(seed.read_bytes()).hexdigest()}, where=0)
    line, col = location(good.decode("utf-8"), len(good.decode("utf-8")))
    return Expect(f"seeds/{doc['id']}.txt", line, col, ("0xe9", "not UTF-8"))


def delete_file(table):
    def mutate(w):
        w.csv(table).unlink()
        return Expect(f"data/{table}.csv", 0, 0, ("does not exist",))
    return mutate


def empty_file(table):
    def mutate(w):
        w.csv(table).write_bytes(b"")
        return Expect(f"data/{table}.csv", 1, 0, ("empty",))
    return mutate


def header_only(table, referrer, column):
    """Rows of `referrer` point at a table that has its header but no rows."""
    def mutate(w):
        header, _ = rows_with_lines(w.csv(table))
        write_rows(w.csv(table), header, [])
        file, line, columns = find(w, referrer, 0)
        return Expect(file, line, columns[column], (f"is not an id in {table}", "has no rows"), problems=None)
    return mutate


def json_missing_comma(w):
    path = w.data / "datapackage.json"
    text = path.read_text(encoding="utf-8")
    comma = text.index('",\n') + 1
    broken = text[:comma] + text[comma + 1:]
    path.write_text(broken, encoding="utf-8")
    next_token = comma + len(broken[comma:]) - len(broken[comma:].lstrip())
    line, col = location(broken, next_token)
    return Expect("data/datapackage.json", line, col, ("not valid JSON", "delimiter"))


def released_then(change, declare, *words):
    """The workspace's own data package released as its declared version (releases/ beside data/), then
    `change` made to the data and declare(released version) written as the version; words(released) expected."""
    def mutate(w):
        path = w.data / "datapackage.json"
        text = path.read_text(encoding="utf-8")
        released = json.loads(text)["version"]
        shutil.copytree(w.site / "dist", w.root / "releases" / released)
        change(w)
        old = f'"version": "{released}"'
        path.write_text(text.replace(old, f'"version": "{declare(released)}"', 1), encoding="utf-8")
        line, col = location(text, text.index(old) + len('"version": '))
        return Expect("data/datapackage.json", line, col, tuple(word(released) for word in words))
    return mutate


def add_relation(w):
    header, rows = rows_with_lines(w.csv("claim_relations"))
    copy = list(rows[0][1])
    claim, other = unrelated_claims(w.data)
    for column, value in (("id", "bad-input-fixture-relation"), ("claim_id", claim), ("relation", "responds_to"),
                          ("related_claim_id", other)):
        copy[header.index(column)] = value
    write_rows(w.csv("claim_relations"), header, [c for _, c in rows] + [copy])


def drop_relation(w):
    header, rows = rows_with_lines(w.csv("claim_relations"))
    write_rows(w.csv("claim_relations"), header, [c for _, c in rows[1:]])


def correct_relation(w):
    edit(w, "claim_relations", {"basis": "Bad-input fixture: a corrected basis."})


def json_not_utf8(w):
    path = w.data / "datapackage.json"
    text = path.read_text(encoding="utf-8")
    at = text.index('"description": "') + len('"description": "')
    path.write_bytes(text[:at].encode() + b"\xe9" + text[at:].encode())
    line, col = location(text, at)
    return Expect("data/datapackage.json", line, col, ("not UTF-8",))


def json_deleted(w):
    (w.data / "datapackage.json").unlink()
    return Expect("data/datapackage.json", 0, 0, ("does not exist",))


def every_csv(change):
    """A harmless variant: rewrite the bytes of every CSV."""
    def mutate(w):
        for path in w.data.glob("*.csv"):
            path.write_bytes(change(path.read_text(encoding="utf-8")).encode("utf-8"))
        return None
    return mutate


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


LAST = -1
TOO_LONG = MAX_CELL_CHARS + 1
BEYOND_CSV_LIMIT = csv.field_size_limit() + 1  # csv's own limit, which it reports as a quoting error


def quoted_excerpt(row) -> bool:
    """The excerpt is written in quotes (it has a comma), so a stray quote before it meets its opening quote."""
    return "," in row["excerpt"] and '"' not in row["excerpt"]


def add_row(w: Workspace, table: str, values: dict) -> tuple[str, int, dict]:
    """Append a row (empty cells but for values); returns find() of it."""
    header, rows = rows_with_lines(w.csv(table))
    write_rows(w.csv(table), header, [c for _, c in rows] + [[values.get(c, "") for c in header]])
    return find(w, table, LAST)


def relation_again(reverse: bool, relation: str):
    """A second claim_relations row for the pair of the first `relation` row, the claims swapped if reverse."""
    def mutate(w):
        first_file, first_line, _ = find(w, "claim_relations", lambda r: r["relation"] == relation)
        r = row_of(w, "claim_relations", lambda r: r["relation"] == relation)
        a, b = (r["related_claim_id"], r["claim_id"]) if reverse else (r["claim_id"], r["related_claim_id"])
        file, line, columns = add_row(w, "claim_relations", {"id": "again-" + r["id"], "claim_id": a, "relation": relation,
                                                             "related_claim_id": b, "basis": r["basis"]})
        return Expect(file, line, columns["claim_id"], (f"already recorded on line {first_line}",))
    return mutate


def claim_without_appearance(w):
    file, line, columns = add_row(w, "claims", {"id": "claim-made-nowhere", "claim": "A claim no appearance makes (fixture).",
                                                "topic": "diplomacy"})
    return Expect(file, line, columns["id"], ("'claim-made-nowhere'", "appearances.csv"))


def retired_id_reused(w):
    claim = row_of(w, "claims", 0)
    _, retired_line, _ = add_row(w, "retired_ids", {"id": claim["id"], "table_name": "claims", "reason": "Fixture: merged for this test.",
                                                    "replaced_by": row_of(w, "claims", 1)["id"], "retired_on": "2026-12-01"})
    file, line, columns = find(w, "claims", 0)
    return Expect(file, line, columns["id"], (f"{claim['id']!r} was retired", f"retired_ids.csv line {retired_line}", "Fixture: merged"))


def reference_to_merged_claim(w):
    """A claim merged into another, its appearances still naming the old id: the fix names the survivor."""
    old, survivor = row_of(w, "claims", 0)["id"], row_of(w, "claims", 1)["id"]
    header, rows = rows_with_lines(w.csv("claims"))
    write_rows(w.csv("claims"), header, [c for _, c in rows if c[0] != old])
    add_row(w, "retired_ids", {"id": old, "table_name": "claims", "reason": "Fixture: merged for this test.",
                               "replaced_by": survivor, "retired_on": "2026-12-01"})
    file, line, columns = find(w, "appearances", lambda r: r["claim_id"] == old)
    return Expect(file, line, columns["claim_id"], ("it was retired", f"use {survivor!r}"), problems=None)


def survivor_missing(w):
    file, line, columns = add_row(w, "retired_ids", {"id": "old-claim-fixture", "table_name": "claims", "reason": "Fixture.",
                                                     "replaced_by": "no-such-claim", "retired_on": "2026-12-01"})
    return Expect(file, line, columns["replaced_by"], ("'no-such-claim'", "not an id in"))


def up_to(row) -> bool:
    return row["qualifier"] == "up_to"


def additional(row) -> bool:
    return row["qualifier"] == "additional"


# ---------------------------------------------------------------------------------------------
# The corpus

BAD = [
    # The header
    pytest.param(rename_column("appearances", "stance", "position"), id="header-renamed-column"),
    pytest.param(rename_column("appearances", "stance", "stance "), id="header-name-with-trailing-space"),
    pytest.param(drop_column("claims", "topic"), id="header-missing-column"),
    pytest.param(add_column("weapon_specs", "source", "x"), id="header-extra-column"),
    pytest.param(repeat_column("claims", "claim"), id="header-column-twice"),
    # One cell against the schema
    pytest.param(cell("claims", "claim", "", "required"), id="required-value-empty"),
    pytest.param(cell("troop_estimates", "value_high", "about 3000", "'about 3000'", "whole number"), id="integer-with-text"),
    pytest.param(cell("troop_estimates", "value_high", "3,000", "whole number", "without commas"), id="integer-with-thousands-comma"),
    pytest.param(cell("appearances", "stated_inferred", "yes", "'yes'", "true or false"), id="boolean-yes"),
    pytest.param(cell("appearances", "stance", "assert", "'assert'", "not an allowed value", "asserts"), id="enum-not-allowed"),
    pytest.param(cell("claims", "direction", "RU→KP", "not an allowed value", "ru_to_kp"), id="enum-old-arrow-code"),
    pytest.param(cell("actors", "country", "USA", "expected form"), id="pattern-country-code"),
    pytest.param(cell("documents", "url", "www.example.org/article", "expected form", "https?"), id="document-url-without-scheme"),
    pytest.param(cell("documents", "retrieved_on", "30 Nov 2026", "expected form"), id="document-retrieved-on-not-iso"),
    pytest.param(cell("documents", "language", "English", "expected form"), id="document-language-not-a-tag"),
    pytest.param(cell("troop_estimates", "value_low", "-5", "below the minimum"), id="integer-below-minimum"),
    pytest.param(cell("appearances", "stated_start", "2023-02-29", "'2023-02-29'", "calendar",
                      also={"stated_end": "", "stated_precision": "day"}), id="impossible-date"),
    pytest.param(cell("troop_estimates", "as_of_start", "2024-10-01", "precision 'month'", "never pad a month",
                      also={"as_of_end": "", "as_of_precision": "month"}, at="as_of_precision"), id="date-month-padded-to-day"),
    pytest.param(cell("appearances", "stated_end", "2024-10", "before stated_start",
                      also={"stated_start": "2024-11", "stated_precision": "range"}), id="date-range-reversed"),
    pytest.param(cell("claims", "claim", "=HYPERLINK(\"http://x\")", "'='", "formula"), id="formula-equals"),
    pytest.param(cell("claims", "claim", "+1 more battalion", "'+'", "formula"), id="formula-plus"),
    pytest.param(cell("claims", "claim", "@SUM(A1:A9)", "'@'", "formula"), id="formula-at"),
    pytest.param(cell("claims", "claim", "-10 degrees at the front", "'-'", "formula"), id="formula-minus"),
    pytest.param(cell("claims", "claim", "Troops moved <script>alert(1)</script>", "HTML", "plain text"), id="html-script-tag"),
    pytest.param(cell("actors", "name", lambda r: " " + r["name"], "white space", "trim"), id="leading-whitespace"),
    pytest.param(cell("claims", "claim", lambda r: r["claim"] + " ", "white space", "trim"), id="trailing-whitespace"),
    pytest.param(cell("appearances", "note", "x" * TOO_LONG, f"{TOO_LONG} characters long"), id="very-long-cell"),
    pytest.param(cell("claims", "claim", "y" * BEYOND_CSV_LIMIT, f"{BEYOND_CSV_LIMIT} characters long"), id="cell-beyond-csv-field-limit"),
    # Keys
    pytest.param(duplicate_key, id="duplicate-primary-key"),
    pytest.param(cell("quotes", "speaker_id", "nobody-at-all", "'nobody-at-all' is not an id in actors"), id="dangling-foreign-key"),
    pytest.param(cell("actors", "affiliation_id", "no-such-actor", "is not an id in actors"), id="dangling-self-reference"),
    pytest.param(cell("aliases", "weapon_system_id", "s-500", "'s-500' is not an id in weapon_systems"), id="alias-of-unknown-system"),
    pytest.param(cell("aliases", "variant", "nickname", "not an allowed value", "transliteration"), id="alias-variant-not-allowed"),
    pytest.param(header_only("weapon_systems", "weapon_mentions", "weapon_system_id"), id="header-only-file-that-rows-reference"),
    # Evidence in the seeds
    pytest.param(cell("weapon_mentions", "excerpt", "This sentence is in no seed.", "not found in seeds/"), id="excerpt-not-in-seed"),
    pytest.param(excerpt_retyped_apostrophe, id="excerpt-retyped-apostrophe"),
    pytest.param(excerpt_twice, id="excerpt-ambiguous-without-occurrence"),
    pytest.param(cell("appearances", "excerpt_occurrence", "9", "asks for occurrence 9"), id="excerpt-occurrence-too-high"),
    pytest.param(cell("quotes", "quote", "words the excerpt does not contain", "not inside the row's excerpt"), id="quote-not-in-excerpt"),
    pytest.param(cell("weapon_specs", "value_text", "999 leagues", "not inside the row's excerpt"), id="value-text-not-in-excerpt"),
    pytest.param(change_seed, id="seed-changed-after-curation"),
    pytest.param(remove_seed, id="seed-file-missing"),
    pytest.param(unlisted_seed, id="seed-without-documents-row"),
    pytest.param(seed_not_utf8, id="seed-not-utf8-with-checksum"),
    # Figures against their wording, and the cross-field rules declared in data/datapackage.json
    pytest.param(cell("troop_estimates", "value_high", lambda r: r["value_high"] + "0", "gives 3000", "original_wording", where=up_to),
                 id="figure-multiplied-by-ten"),
    pytest.param(cell("troop_estimates", "value_low", "5000", "value_low 5000 is above value_high", where=up_to,
                      also={"qualifier": "range"}, at="value_high"), id="low-bound-above-high-bound"),
    pytest.param(cell("troop_estimates", "qualifier", "approx", "'approx' needs value_best", "value_high is filled", where=up_to),
                 id="qualifier-disagrees-with-bounds"),
    pytest.param(cell("troop_estimates", "qualifier", "total", "'total'", "reads as 'additional'", "never a total", where=additional),
                 id="increment-typed-as-total"),
    pytest.param(cell("troop_estimates", "original_wording", "up to 30,000", "not inside the row's excerpt", where=up_to),
                 id="wording-not-in-excerpt"),
    pytest.param(cell("weapon_specs", "value", "4000", "gives 400", where=lambda r: r["unit"] == "km"), id="spec-value-disagrees-with-text"),
    pytest.param(cell("weapon_specs", "unit", "mi", "is in 'km'", where=lambda r: r["unit"] == "km"), id="spec-unit-disagrees-with-text"),
    pytest.param(cell("claim_relations", "related_claim_id", lambda r: r["claim_id"], "to itself"), id="relation-to-itself"),
    pytest.param(relation_again(reverse=False, relation="refines"), id="relation-recorded-twice"),
    pytest.param(relation_again(reverse=True, relation="corroborates"), id="symmetric-relation-recorded-both-ways"),
    pytest.param(claim_without_appearance, id="claim-without-appearance"),
    pytest.param(retired_id_reused, id="retired-id-used-again"),
    pytest.param(survivor_missing, id="retired-id-survivor-missing"),
    pytest.param(reference_to_merged_claim, id="reference-to-merged-id"),
    # Files and bytes
    pytest.param(delete_file("claims"), id="csv-file-missing"),
    pytest.param(empty_file("documents"), id="csv-file-empty"),
    pytest.param(raw_bytes_in_cell("weapon_systems", "name", "Caf", b"\xe9", "0xe9", "not UTF-8", "CSV UTF-8"), id="latin1-byte"),
    pytest.param(raw_bytes_in_cell("actors", "role", "Minister", b"\x00", "NUL"), id="nul-byte"),
    pytest.param(ragged("claims", lambda c: c[:-1]), id="ragged-row-too-few-cells"),
    pytest.param(ragged("weapon_systems", lambda c: c + ["surplus"]), id="ragged-row-too-many-cells"),
    pytest.param(open_quote("appearances", "stance", "asserts", where=quoted_excerpt), id="unterminated-quote-mid-file"),
    pytest.param(open_quote("appearances", "note", "unterminated note", where=LAST), id="unterminated-quote-at-end-of-file"),
    # The schema itself
    pytest.param(json_missing_comma, id="datapackage-invalid-json"),
    pytest.param(json_not_utf8, id="datapackage-not-utf8"),
    pytest.param(json_deleted, id="datapackage-missing"),
    # The version against the latest release (MAJOR: a row removed; MINOR: rows added; PATCH: a value corrected)
    pytest.param(released_then(add_relation, lambda v: next_version(v, "patch"), lambda v: "MINOR",
                               lambda v: f'set "version" to {next_version(v, "minor")}'), id="version-bump-too-small"),
    pytest.param(released_then(drop_relation, lambda v: next_version(v, "minor"), lambda v: "MAJOR", lambda v: "removed",
                               lambda v: f'set "version" to {next_version(v, "major")}'), id="version-minor-for-a-removed-row"),
    pytest.param(released_then(correct_relation, lambda v: next_version(next_version(v, "major"), "major"), lambda v: "PATCH",
                               lambda v: f'set "version" to {next_version(v, "patch")}'), id="version-wrong-jump"),
    pytest.param(released_then(lambda w: None, lambda v: next_version(v, "patch"), lambda v: "nothing changed",
                               lambda v: f'back to {v}'), id="version-bumped-without-changes"),
    pytest.param(released_then(correct_relation, lambda v: "1.0", lambda v: "not a semantic version"), id="version-not-semantic"),
    pytest.param(released_then(correct_relation, lambda v: "0.0.1", lambda v: f"older than the latest release {v}"),
                 id="version-older-than-the-release"),
]

HARMLESS = [
    pytest.param(every_csv(lambda t: BOM + t), id="utf8-bom"),
    pytest.param(every_csv(crlf), id="crlf-line-ends"),
    pytest.param(every_csv(lambda t: BOM + crlf(t)), id="bom-and-crlf"),
    pytest.param(every_csv(lambda t: t + "\n\n"), id="trailing-blank-lines"),
]

PROBLEM_LINE = re.compile(r"^\S+:\d+:\d+: .+\. Fix: .+$")


# ---------------------------------------------------------------------------------------------
# Checks shared by the tests


def assert_refused(w: Workspace, expects: list, before: dict) -> str:
    result = w.build()
    err = result.stderr
    assert "Traceback" not in err, err
    assert result.returncode == 1, err
    *problems, summary = err.strip().splitlines()
    assert summary.startswith("Build refused:") and "previous database was left untouched" in summary, err
    for line in problems:
        assert PROBLEM_LINE.match(line), f"not a located problem with a fix: {line!r}"
    for expect in expects:
        where = f"/{expect.file}:{expect.line}:{expect.column}:"
        located = [line for line in problems if line.partition(" ")[0].endswith(where)]
        assert located, f"no problem at {where!r} in:\n{err}"
        assert any(all(word in line for word in expect.words) for line in located), (expect.words, located)
    total = None if any(e.problems is None for e in expects) else sum(e.problems for e in expects)
    if total is not None:
        assert summary.startswith(f"Build refused: {total} problem(s)"), err
    # Nothing written: same files (so no temporary leftovers), same bytes.
    after = snapshot(w.site)
    assert sorted(after) == sorted(before)
    assert after == before
    return err


@pytest.mark.parametrize("mutate", BAD)
def test_bad_input_is_refused_with_a_located_fix(workspace, mutate):
    before = snapshot(workspace.site)
    expect = mutate(workspace)
    assert_refused(workspace, [expect], before)


@pytest.mark.parametrize("mutate", HARMLESS)
def test_harmless_variant_builds_the_same_database(good, workspace, mutate):
    before = snapshot(workspace.site)
    assert mutate(workspace) is None
    result = workspace.build()
    assert "Traceback" not in result.stderr
    assert result.returncode == 0, result.stderr
    after = snapshot(workspace.site)
    assert sorted(after) == sorted(before)  # no temporary file left
    assert dump(workspace.site / OUT) == dump(good.site / OUT)
    assert {k: v for k, v in after.items() if k.startswith("dist")} == {k: v for k, v in before.items() if k.startswith("dist")}


def test_line_break_in_a_cell_reads_the_same_with_crlf_line_ends(workspace):
    """git's autocrlf rewrites line breaks inside quoted cells too; the value must not change."""
    note = "First line.\nSecond line."
    edit(workspace, "appearances", {"note": note})
    assert workspace.build().returncode == 0
    lf = dump(workspace.site / OUT)
    every_csv(crlf)(workspace)
    result = workspace.build()
    assert result.returncode == 0, result.stderr
    assert dump(workspace.site / OUT) == lf
    conn = sqlite3.connect(workspace.site / OUT)
    try:
        assert conn.execute("SELECT count(*) FROM appearances WHERE note = ?", (note,)).fetchone() == (1,)
    finally:
        conn.close()


def test_errors_in_several_files_are_all_reported_in_one_run(workspace):
    chosen = ["enum-not-allowed", "required-value-empty", "header-extra-column", "excerpt-not-in-seed",
              "dangling-foreign-key", "latin1-byte", "seed-without-documents-row"]
    cases = {p.id: p.values[0] for p in BAD}
    before = snapshot(workspace.site)
    expects = [cases[name](workspace) for name in chosen]
    assert len({e.file for e in expects}) == len(expects)
    assert_refused(workspace, expects, before)
