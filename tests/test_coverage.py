"""Coverage: sentence splitting, the covered rule, and every document at or above its recorded level."""
import json

from scripts.coverage import Sentence, covered, document_coverage, sentences

from .conftest import DATA


def test_initials_do_not_end_a_sentence():
    text = "U.S. Defense Secretary Lloyd J. Austin III said so. Then he left."
    assert [s.text for s in sentences(text)] == ["U.S. Defense Secretary Lloyd J. Austin III said so.", "Then he left."]


def test_headings_share_buttons_and_source_lists_are_not_substantive():
    text = "Title Of A Section\nA real sentence here.\nSources\n- Some headline of a source\nLike\nShare"
    assert [(s.text, s.substantive) for s in sentences(text)] == [
        ("Title Of A Section", False), ("A real sentence here.", True), ("Sources", False),
        ("- Some headline of a source", False), ("Like", False), ("Share", False)]


def test_a_sentence_is_covered_when_half_its_characters_are():
    s = Sentence(0, 10, "x" * 10, True)
    assert covered(s, [(0, 5)]) and not covered(s, [(0, 4)]) and covered(s, [(0, 3), (3, 5)])


def test_every_document_keeps_its_recorded_coverage(conn):
    floor = json.loads((DATA / "coverage_floor.json").read_text(encoding="utf-8"))
    report = {d["document_id"]: d for d in document_coverage(conn)}
    for doc_id, share in report.items():
        assert doc_id in floor, f"record a coverage floor for {doc_id}"
        assert share["share"] >= floor[doc_id] >= 0.9, [s.text for s in share["uncovered"]]


def test_stored_coverage_matches_the_report(conn):
    stored = {r["document_id"]: r["share"] for r in conn.execute("SELECT * FROM document_coverage")}
    assert stored == {d["document_id"]: round(d["share"], 4) for d in document_coverage(conn)}
