"""Derived views, on a small temporary database: evidence status comes from the appearances alone."""
import sqlite3

from scripts.load import create_table_sql, insert_rows
from scripts.schema import resource
from scripts.views import create_views

ACTOR = {"kind": "government", "country": None, "role": None, "conflict_party": 0, "document_id": None,
         "excerpt": None, "excerpt_occurrence": None, "char_start": None, "char_end": None}


def actor(id, affiliation=None):
    return {**ACTOR, "id": id, "name": id, "affiliation_id": affiliation}


def appearance(n, claim, speaker, stance):
    return {"id": f"x-{n}", "claim_id": claim, "document_id": "d", "speaker_id": speaker, "reported_by_id": None,
            "stance": stance, "stated_text": None, "stated_start": None, "stated_end": None,
            "stated_precision": "unknown", "stated_inferred": 0, "stated_basis": None, "excerpt": "e",
            "excerpt_occurrence": None, "note": None, "char_start": 0, "char_end": 1}


def test_status_counts_independent_sources(pkg, tmp_path):
    conn = sqlite3.connect(tmp_path / "v.db")
    for res in pkg["resources"]:
        conn.execute(create_table_sql(res))
    insert_rows(conn, resource(pkg, "actors"), [(0, actor("us")), (0, actor("pentagon", "us")),
                                                (0, actor("austin", "pentagon")), (0, actor("kr")), (0, actor("ru"))])
    claims = ("one", "same-government", "two", "contested", "denied")
    insert_rows(conn, resource(pkg, "claims"), [(0, {"id": c, "claim": c, "topic": "troop_deployment", "direction": None, "subject_id": None}) for c in claims])
    rows = [("one", "kr", "asserts"), ("same-government", "austin", "confirms"), ("same-government", "pentagon", "asserts"),
            ("two", "austin", "asserts"), ("two", "kr", "warns"), ("contested", "kr", "asserts"),
            ("contested", "ru", "denies"), ("denied", "ru", "denies")]
    insert_rows(conn, resource(pkg, "appearances"), [(0, appearance(i, *r)) for i, r in enumerate(rows)])
    create_views(conn)
    status = dict(conn.execute("SELECT claim_id, evidence_status FROM claim_evidence"))
    assert status == {"one": "single-source", "same-government": "single-source", "two": "corroborated",
                      "contested": "contested", "denied": "denied"}


def test_each_articles_own_voice_is_a_separate_source(pkg, tmp_path):
    conn = sqlite3.connect(tmp_path / "w.db")
    for res in pkg["resources"]:
        conn.execute(create_table_sql(res))
    insert_rows(conn, resource(pkg, "actors"), [(0, {**actor("unattributed"), "kind": "unattributed"})])
    insert_rows(conn, resource(pkg, "claims"), [(0, {"id": c, "claim": c, "topic": "troop_deployment", "direction": None,
                                                     "subject_id": None}) for c in ("two-articles", "one-article")])
    rows = [("two-articles", "d1"), ("two-articles", "d2"), ("one-article", "d1"), ("one-article", "d1")]
    insert_rows(conn, resource(pkg, "appearances"),
                [(0, {**appearance(i, claim, "unattributed", "asserts"), "document_id": doc}) for i, (claim, doc) in enumerate(rows)])
    create_views(conn)
    status = dict(conn.execute("SELECT claim_id, evidence_status FROM claim_evidence"))
    assert status == {"two-articles": "corroborated", "one-article": "single-source"}
