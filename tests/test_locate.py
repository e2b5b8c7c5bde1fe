"""Stage 3: every verbatim field is found in its seed; offsets are recorded; checksums hold."""
from scripts.locate import TEXTS, find_all, locate_row, locate_unsure, offsets, read_seeds, seed_texts, sha256_hex
from scripts.schema import field_names, resource
from scripts.validate import suspects

from .conftest import stage_text

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


def stage_documents(pkg, staging, data_dir, seed_bytes: bytes):
    """One documents row whose recorded checksum is that of seed_bytes."""
    header = field_names(resource(pkg, "documents"))
    row = {name: "" for name in header}
    row.update(id="000_0000000000000000", label="A", date_precision="unknown", date_inferred="false", sha256=sha256_hex(seed_bytes))
    return stage_text(staging, pkg, data_dir, "documents", ",".join(header) + "\n" + ",".join(row.values()) + "\n", [suspects])[0]


def test_changed_seed_is_refused(pkg, staging, tmp_path):
    seed = tmp_path / "000_0000000000000000.txt"
    seed.write_bytes(b"edited")
    documents = stage_documents(pkg, staging, tmp_path, b"original")
    problems = []
    read_seeds(staging, tmp_path, documents, problems, set())
    assert "changed after curation" in problems[0].message and problems[0].column == documents.column_number("sha256")
    assert staging.execute(f"SELECT count(*) FROM {TEXTS}").fetchone() == (0,)


def test_rows_are_located_as_they_stream_and_only_the_unsettled_are_judged_after(pkg, staging, tmp_path):
    seed = tmp_path / "000_0000000000000000.txt"
    seed.write_text(TEXT, encoding="utf-8")
    documents = stage_documents(pkg, staging, tmp_path, TEXT.encode())
    problems = []
    read_seeds(staging, tmp_path, documents, problems, set())
    assert problems == []
    header = field_names(resource(pkg, "quotes"))
    base = {name: "" for name in header} | {"document_id": seed.stem, "speaker_id": "s"}
    lines = [base | {"id": "q1", "quote": "no", "excerpt": "Beta said no."},  # settled while streaming
             base | {"id": "q2", "quote": "yes", "excerpt": "Alpha said “yes”.", "excerpt_occurrence": "2"},  # judged after
             base | {"id": "q3", "quote": "maybe", "excerpt": "Beta said no."}]  # not inside: judged after, refused
    text_of = seed_texts(staging)
    quotes, _, rows = stage_text(staging, pkg, tmp_path, "quotes",
                                 "\n".join([",".join(header)] + [",".join(r.values()) for r in lines]) + "\n", [offsets(text_of)])
    assert [(r["_char_start"], r["_unsure"]) for r in rows] == [(TEXT.index("Beta"), 0), (None, 1), (None, 1)]
    locate_unsure(staging, quotes, text_of, problems, bad := set())
    assert staging.execute('SELECT _char_start, _unsure FROM stage."quotes" WHERE id = \'q2\'').fetchone() == (TEXT.rindex("Alpha"), 0)
    assert [(p.line, p.column_name) for p in problems] == [(4, "quote")] and bad == {3}
