"""Stage 3: every verbatim field is found in its seed; offsets are recorded; checksums hold."""
from scripts.locate import find_all, locate_row, read_seeds, sha256_hex

TEXT = "Alpha said “yes”. Beta said no. Alpha said “yes”."
FIELDS = [("excerpt", "document"), ("quote", "excerpt")]


def test_find_all_returns_every_start():
    assert find_all(TEXT, "said") == [6, 23, 38]


def test_unique_excerpt_gets_offsets():
    derived, errors = locate_row({"excerpt": "Beta said no."}, TEXT, FIELDS, "seed")
    assert not errors
    assert TEXT[derived["char_start"]:derived["char_end"]] == "Beta said no."


def test_ambiguous_excerpt_needs_an_occurrence():
    _, errors = locate_row({"excerpt": "Alpha said “yes”."}, TEXT, FIELDS, "seed")
    assert errors and "occurs 2 times" in errors[0][1]
    derived, errors = locate_row({"excerpt": "Alpha said “yes”.", "excerpt_occurrence": 2}, TEXT, FIELDS, "seed")
    assert not errors and derived["char_start"] == TEXT.rindex("Alpha")


def test_occurrence_beyond_the_count_is_an_error():
    _, errors = locate_row({"excerpt": "Beta said no.", "excerpt_occurrence": 2}, TEXT, FIELDS, "seed")
    assert errors[0][0] == "excerpt_occurrence"


def test_retyped_quotation_marks_get_a_specific_hint():
    _, errors = locate_row({"excerpt": 'Alpha said "yes".', "excerpt_occurrence": 1}, TEXT, FIELDS, "seed")
    column, message, fix = errors[0]
    assert column == "excerpt" and "not found" in message and "quotation marks" in fix


def test_quote_must_lie_inside_its_excerpt():
    _, errors = locate_row({"excerpt": "Beta said no.", "quote": "yes"}, TEXT, FIELDS, "seed")
    assert errors == [("quote", "is not inside the row's excerpt", "copy it exactly from the excerpt, or widen the excerpt")]


def test_changed_seed_is_refused(tmp_path):
    seed = tmp_path / "000_0000000000000000.txt"
    seed.write_bytes(b"original")
    docs = [(2, {"id": seed.stem, "sha256": sha256_hex(b"original")})]
    problems = []
    assert read_seeds(tmp_path, docs, "data/documents.csv", {"sha256": 12}, problems) == {seed.stem: "original"}
    seed.write_bytes(b"edited")
    assert read_seeds(tmp_path, docs, "data/documents.csv", {"sha256": 12}, problems) == {}
    assert "changed after curation" in problems[0].message and problems[0].column == 12
