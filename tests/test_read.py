"""Stage 1: CSV bytes become rows with line numbers, or problems that say where and what to fix."""
import pytest

from scripts.read import decode, parse_rows
from scripts.schema import resource

HEADER = "id,claim,topic,direction,subject_id\n"


def parse(pkg, text):
    problems = []
    table = parse_rows("data/claims.csv", text, resource(pkg, "claims"), problems)
    return table, problems


def test_rows_keep_their_physical_line_numbers(pkg):
    text = HEADER + 'a,"two\nlines",diplomacy,,\nb,one,diplomacy,,\n'
    table, problems = parse(pkg, text)
    assert not problems
    assert [line for line, _ in table.rows] == [2, 4]
    assert table.rows[0][1]["claim"] == "two\nlines"


def test_bom_and_crlf_read_the_same_as_plain(pkg):
    plain = HEADER + "a,x,diplomacy,,\n"
    data = ("\ufeff" + plain.replace("\n", "\r\n")).encode("utf-8")
    problems = []
    text = decode("f.csv", data, problems)
    assert parse(pkg, text)[0].rows == parse(pkg, plain)[0].rows
    assert not problems


def test_non_utf8_byte_is_located():
    problems = []
    assert decode("f.csv", b"id,claim\nab,caf\xe9\n", problems) is None
    (p,) = problems
    assert (p.line, p.column) == (2, 7) and "UTF-8" in p.fix


def test_nul_byte_is_refused():
    problems = []
    assert decode("f.csv", b"id\nx\x00y\n", problems) is None
    assert problems[0].line == 2 and "NUL" in problems[0].message


@pytest.mark.parametrize("text, words", [
    (HEADER + "a,x,diplomacy\n", "3 cells"),
    (HEADER + 'a,"unterminated,diplomacy,,\n', "cannot be parsed"),
    ("", "empty"),
    ("id,claim,topic\n", "missing"),
    ("id,claim,topic,direction,subject_id,extra\n", "not in the schema"),
])
def test_structural_errors_are_reported(pkg, text, words):
    _, problems = parse(pkg, text)
    assert problems and words in str(problems[0])
