"""Stage 2: every cell is typed and checked against the schema, with a fix for each problem."""
import pytest

from scripts.read import Staged
from scripts.schema import field_names, resource
from scripts.validate import CellError, check_foreign_keys, date_group_errors, parse_cell, row_flag_sql, suspects, validate_table

from .conftest import stage_text

STRING = {"name": "s", "type": "string"}


@pytest.mark.parametrize("field, text, value", [
    ({"name": "n", "type": "integer"}, "3000", 3000),
    ({"name": "b", "type": "boolean"}, "false", 0),
    ({"name": "x", "type": "number"}, "2.5", 2.5),
    (STRING, "", None),
    ({"name": "d", "type": "string", "partialDate": True}, "2024-02-29", "2024-02-29"),
])
def test_good_cells_are_typed(field, text, value):
    assert parse_cell(field, text) == value


@pytest.mark.parametrize("field, text, words", [
    ({"name": "n", "type": "integer"}, "3,000", "whole number"),
    ({"name": "b", "type": "boolean"}, "yes", "true or false"),
    ({"name": "s", "type": "string", "constraints": {"required": True}}, "", "required"),
    ({"name": "s", "type": "string", "constraints": {"enum": ["asserts"]}}, "assert", "not an allowed value"),
    ({"name": "d", "type": "string", "partialDate": True}, "2023-02-29", "calendar"),
    (STRING, "=HYPERLINK(1)", "formula"),
    (STRING, "@SUM(A1)", "formula"),
    (STRING, " padded", "white space"),
    (STRING, "fine <script>alert(1)</script>", "HTML"),
])
def test_bad_cells_say_what_is_wrong(field, text, words):
    with pytest.raises(CellError) as e:
        parse_cell(field, text)
    assert words in str(e.value) and e.value.fix


@pytest.mark.parametrize("start, end, precision, ok", [
    ("2024-10", None, "month", True),
    ("2024-10-01", None, "month", False),  # a month padded to a day
    ("2024-10-31", None, "day", True),
    (None, None, "unknown", True),
    ("2024", None, "unknown", False),
    ("2024-11", "2024-10", "range", False),
    ("2024-06", None, "range", True),
])
def test_date_groups_agree_with_their_precision(start, end, precision, ok):
    row = {"d_start": start, "d_end": end, "d_precision": precision}
    assert (date_group_errors("d", row) == []) == ok


def test_duplicate_keys_and_dangling_references_are_reported(pkg, staging, tmp_path):
    for res in pkg["resources"]:
        if res["name"] not in ("claims", "claim_relations", "actors"):
            staging.execute(f'CREATE TABLE stage."{res["name"]}" ("_line", "id")')
    actors, _, _ = stage_text(staging, pkg, tmp_path, "actors", ",".join(field_names(resource(pkg, "actors"))) + "\n", [suspects])
    claims, _, _ = stage_text(staging, pkg, tmp_path, "claims", "id,claim,topic,direction,subject_id\na,x,diplomacy,,\na,y,diplomacy,,\n", [suspects])
    relations, _, _ = stage_text(staging, pkg, tmp_path, "claim_relations",
                                 "id,claim_id,relation,related_claim_id,basis\nr,a,refines,zz,b\n", [suspects])
    problems, bad = [], {res["name"]: set() for res in pkg["resources"]}
    staged = {res["name"]: Staged(res, res["path"]) for res in pkg["resources"]}
    staged.update(claims=claims, claim_relations=relations, actors=actors)
    for source in (claims, relations):
        validate_table(staging, source, problems, bad[source.name])
    check_foreign_keys(staging, pkg, staged, problems, bad)
    messages = sorted(str(p) for p in problems)
    assert any("claims.csv:3:1: column 'id': 'a' is already used on line 2" in m for m in messages)
    assert any("claim_relations.csv:2:4: column 'related_claim_id': 'zz' is not an id in claims" in m for m in messages)
    assert len(problems) == 2 and bad["claims"] == {2} and bad["claim_relations"] == {1}


# Cells that parse_cell must refuse, and good ones, per field: the SQL condition and suspects() together
# must flag every refused one (a good one may be flagged too: parse_cell then clears it).
FIELDS = {
    "n": {"name": "n", "type": "integer", "constraints": {"minimum": 0}},
    "x": {"name": "x", "type": "number", "constraints": {"required": True}},
    "b": {"name": "b", "type": "boolean"},
    "s": {"name": "s", "type": "string", "constraints": {"required": True, "minLength": 3, "maxLength": 12}},
    "e": {"name": "e", "type": "string", "constraints": {"enum": ["asserts", "denies"]}},
    "p": {"name": "p", "type": "string", "constraints": {"pattern": "^[a-z0-9][a-z0-9._-]*$"}},
    "d": {"name": "d", "type": "string", "partialDate": True,
          "constraints": {"pattern": "^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$"}},
}
CELLS = {
    "n": ["3000", "0", "007", "", "3,000", "-5", "1.0", "about 3000", " 4", "4\u00a0", "99999999999999999999", "²", "-0"],
    "x": ["2.5", "400", "", "1e5", "inf", "nan", "1_000", ".5", "5.", "-2.5", "2.5.1", "\u3000" + "1"],
    "b": ["true", "false", "", "True", "yes", "1", " true"],
    "s": ["abcd", "", "ab", "a" * 13, "=SUM(A1)", "+1", "@x", "-10 degrees", "\ttab", "a <b>c", "a < b", "x\u2003", "\u1680abc", "ok\x1f"],
    "e": ["asserts", "", "assert", "Asserts", " denies"],
    "p": ["kr-nis", "", "-x", "X", "a b", "a\n", "é"],
    "d": ["2024", "2024-02-29", "2023-02-29", "2024-04-31", "2024-13", "2024-1-1", "", "2024-02-30"],
}


def refused(field, text) -> bool:
    try:
        parse_cell(field, text)
        return False
    except CellError:
        return True


def test_sql_flags_every_cell_that_parse_cell_refuses(pkg):
    import sqlite3
    conn = sqlite3.connect(":memory:")
    names = list(FIELDS)
    conn.execute(f"CREATE TABLE t (_suspect, {', '.join(names)})")
    res = {"name": "t", "schema": {"fields": list(FIELDS.values()), "primaryKey": ["s"]}}
    source = Staged(res, "t.csv", columns=names)
    good = {"n": "1", "x": "1", "b": "true", "s": "abcd", "e": "asserts", "p": "a", "d": "2024"}
    rows = [[0, [*good.values()]]] + [[0, [*{**good, name: cell}.values()]] for name, cells in CELLS.items() for cell in cells]
    marked, _ = suspects(iter(rows), source)
    conn.executemany(f"INSERT INTO t VALUES ({', '.join('?' for _ in range(len(names) + 1))})", (cells[-1:] + cells[:-1] for _, cells in marked))
    flagged = {tuple(r[1:]) for r in conn.execute(f"SELECT _suspect, {', '.join(names)} FROM t WHERE {row_flag_sql(res)}")}
    checked = 0
    for name, cells in CELLS.items():
        for cell in cells:
            row = {**good, name: cell}
            if refused(FIELDS[name], cell):
                assert tuple(row.values()) in flagged, (name, cell)
                checked += 1
    assert checked > 30 and tuple(good.values()) not in flagged


def test_typed_sql_agrees_with_parse_cell_on_good_cells():
    import sqlite3
    from scripts.load import typed_sql
    conn = sqlite3.connect(":memory:")
    for name, cells in CELLS.items():
        for cell in cells:
            if not refused(FIELDS[name], cell):
                (value,) = conn.execute(f"SELECT {typed_sql(FIELDS[name])} FROM (SELECT ? AS \"{name}\") s", (cell,)).fetchone()
                assert value == parse_cell(FIELDS[name], cell) and type(value) is type(parse_cell(FIELDS[name], cell)), (name, cell)
