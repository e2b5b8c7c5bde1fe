"""Stage 1: CSV bytes stream into a staging table with line numbers, or give problems that say where and what to fix."""
import pytest

from scripts.read import decode

from .conftest import stage_text

HEADER = "id,claim,topic,direction,subject_id\n"


def test_rows_keep_their_physical_line_numbers(pkg, staging, tmp_path):
    source, problems, rows = stage_text(staging, pkg, tmp_path, "claims", HEADER + 'a,"two\nlines",diplomacy,,\nb,one,diplomacy,,\n')
    assert not problems and source.complete and source.rows == 2
    assert [r["_line"] for r in rows] == [2, 4]
    assert rows[0]["claim"] == "two\nlines"


def test_bom_and_crlf_read_the_same_as_plain(pkg, staging, tmp_path):
    plain = HEADER + 'a,"x\ny",diplomacy,,\n'
    _, _, expected = stage_text(staging, pkg, tmp_path, "claims", plain)
    staging.execute('DROP TABLE stage."claims"')
    _, problems, rows = stage_text(staging, pkg, tmp_path, "claims", ("\ufeff" + plain.replace("\n", "\r\n")).encode())
    assert rows == expected and not problems


def test_columns_in_another_order_are_staged_by_name(pkg, staging, tmp_path):
    _, problems, rows = stage_text(staging, pkg, tmp_path, "claims", "topic,id,subject_id,claim,direction\ndiplomacy,a,,x,\n")
    assert not problems and rows[0]["id"] == "a" and rows[0]["topic"] == "diplomacy"


def test_key_order_is_noticed(pkg, staging, tmp_path):
    source, _, _ = stage_text(staging, pkg, tmp_path, "claims", HEADER + "b,x,diplomacy,,\na,y,diplomacy,,\n")
    assert not source.in_key_order


def test_non_utf8_byte_is_located_and_nothing_is_staged(pkg, staging, tmp_path):
    source, problems, rows = stage_text(staging, pkg, tmp_path, "claims", (HEADER + "a,x,diplomacy,,\nb,caf\xe9,diplomacy,,\n").encode("latin-1"))
    (p,) = problems
    assert (p.line, p.column) == (3, 6) and "UTF-8" in p.fix
    assert rows == [] and not source.complete


def test_nul_byte_is_refused(pkg, staging, tmp_path):
    _, problems, rows = stage_text(staging, pkg, tmp_path, "claims", HEADER + "a,x\x00y,diplomacy,,\n")
    assert problems[0].line == 2 and "NUL" in problems[0].message and rows == []


def test_decode_reports_the_first_bad_byte_of_a_whole_file():
    problems = []
    assert decode("f.csv", b"id,claim\nab,caf\xe9\n", problems) is None
    assert (problems[0].line, problems[0].column) == (2, 7)


def test_a_missing_file_still_gets_an_empty_staging_table(pkg, staging, tmp_path):
    from scripts.read import stage_resource
    from scripts.schema import resource
    problems = []
    source = stage_resource(staging, tmp_path, resource(pkg, "claims"), problems)
    assert "does not exist" in problems[0].message and not source.complete
    assert staging.execute('SELECT count(*) FROM stage."claims" WHERE "topic" IS NULL').fetchone() == (0,)


@pytest.mark.parametrize("text, words", [
    (HEADER + "a,x,diplomacy\n", "3 cells"),
    (HEADER + 'a,"unterminated,diplomacy,,\n', "cannot be parsed"),
    ("", "empty"),
    ("id,claim,topic\n", "missing"),
    ("id,claim,topic,direction,subject_id,extra\n", "not in the schema"),
])
def test_structural_errors_are_reported(pkg, staging, tmp_path, text, words):
    source, problems, _ = stage_text(staging, pkg, tmp_path, "claims", text)
    assert problems and words in str(problems[0]) and not source.complete
