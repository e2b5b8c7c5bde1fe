"""Stage 2: every cell is typed and checked against the schema, with a fix for each problem."""
import pytest

from scripts.read import RawTable
from scripts.schema import resource
from scripts.validate import CellError, date_group_errors, parse_cell, validate_all

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


def test_duplicate_keys_and_dangling_references_are_reported(pkg):
    claims = RawTable(resource(pkg, "claims"), "data/claims.csv", columns=["id", "claim", "topic", "direction", "subject_id"],
                      rows=[(2, {"id": "a", "claim": "x", "topic": "diplomacy", "direction": "", "subject_id": ""}),
                            (3, {"id": "a", "claim": "y", "topic": "diplomacy", "direction": "", "subject_id": ""})])
    rel_cols = ["id", "claim_id", "relation", "related_claim_id", "basis"]
    relations = RawTable(resource(pkg, "claim_relations"), "data/claim_relations.csv", columns=rel_cols,
                         rows=[(2, {"id": "r", "claim_id": "a", "relation": "refines", "related_claim_id": "zz", "basis": "b"})])
    raw = {res["name"]: RawTable(res, res["path"]) for res in pkg["resources"]}
    raw.update(claims=claims, claim_relations=relations)
    problems = []
    typed = validate_all(pkg, raw, problems)
    messages = sorted(str(p) for p in problems)
    assert any("data/claims.csv:3:1: column 'id': 'a' is already used on line 2" in m for m in messages)
    assert any("data/claim_relations.csv:2:4: column 'related_claim_id': 'zz' is not an id in claims" in m for m in messages)
    assert [row["id"] for _, row in typed["claims"]] == ["a"]
    assert typed["claim_relations"] == []
