"""The whole build from the real data: provenance holds, output is deterministic, failures lose nothing."""
import hashlib
import sqlite3
import subprocess
import sys

import pytest

from scripts.build import build
from scripts.locate import find_all
from scripts.schema import resources, verbatim_fields

from .conftest import ROOT, SEEDS, edit_cell


def dump(db) -> str:
    c = sqlite3.connect(db)
    try:
        return "\n".join(c.iterdump())
    finally:
        c.close()


def test_every_excerpt_is_verbatim_at_its_offsets(pkg, conn):
    checked = 0
    for res in resources(pkg):
        if ("excerpt", "document") not in verbatim_fields(res):
            continue
        sql = f"SELECT t.excerpt, t.char_start, t.char_end, d.text FROM {res['name']} t JOIN documents d ON d.id = t.document_id WHERE t.excerpt IS NOT NULL"
        for excerpt, start, end, text in conn.execute(sql):
            assert text[start:end] == excerpt
            checked += 1
    assert checked > 0


def test_fact_rows_carry_provenance(pkg, conn):
    for table in ("appearances", "quotes", "weapon_mentions", "weapon_specs", "troop_estimates"):
        missing = conn.execute(f"SELECT count(*) FROM {table} WHERE document_id IS NULL OR excerpt IS NULL OR char_start IS NULL").fetchone()[0]
        assert missing == 0, table


def test_documents_are_the_seeds_byte_for_byte(conn):
    rows = conn.execute("SELECT id, text, sha256, char_count FROM documents").fetchall()
    assert {r["id"] for r in rows} == {p.stem for p in SEEDS.glob("*.txt")}
    for r in rows:
        data = (SEEDS / f"{r['id']}.txt").read_bytes()
        assert r["text"].encode("utf-8") == data
        assert hashlib.sha256(data).hexdigest() == r["sha256"]
        assert r["char_count"] == len(r["text"])


def test_ids_keep_their_leading_zeros(conn):
    assert conn.execute("SELECT typeof(id) FROM documents WHERE id LIKE '000_%'").fetchone()[0] == "text"


def test_integrity_and_foreign_keys_hold(conn):
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_enum_checks_are_enforced_by_sqlite(built):
    c = sqlite3.connect(built["db"])
    with pytest.raises(sqlite3.IntegrityError):
        c.execute("UPDATE appearances SET stance = 'maybe' WHERE rowid = 1")
    c.rollback()
    c.close()


def test_facet_and_foreign_key_columns_are_indexed(pkg, conn):
    from scripts.schema import facet_fields
    for res in resources(pkg):
        indexed = {r["name"] for idx in conn.execute(f"PRAGMA index_list('{res['name']}')")
                   for r in conn.execute(f"PRAGMA index_info('{idx['name']}')")}
        assert set(facet_fields(res)) <= indexed, res["name"]


def test_full_text_search_finds_a_known_phrase(conn):
    hits = conn.execute("SELECT rowid FROM appearances_fts WHERE appearances_fts MATCH '\"additional 1,500\"'").fetchall()
    assert hits
    found = [conn.execute("SELECT excerpt FROM appearances WHERE rowid = ?", (h[0],)).fetchone()[0] for h in hits]
    assert all("additional 1,500" in e for e in found)


def test_same_inputs_give_the_same_dump(built, tmp_path):
    again = tmp_path / "again.db"
    build(ROOT / "data", SEEDS, again, ROOT / "metadata.yml", tmp_path / "build")  # metadata.yml: its default facets are counted
    assert dump(again) == dump(built["db"])


def run_build(data, out):
    return subprocess.run([sys.executable, "-m", "scripts.build", "--data", str(data), "--out", str(out),
                           "--build-dir", str(out.parent / "build"), "--dist", str(out.parent / "dist")],
                          cwd=ROOT, capture_output=True, text=True)


def test_failed_build_leaves_the_previous_database_untouched(data_copy, tmp_path):
    out = tmp_path / "nk_russia.db"
    assert run_build(data_copy, out).returncode == 0
    before = out.read_bytes()
    before_dist = sorted(p.name for p in (tmp_path / "dist").iterdir())
    column = edit_cell(data_copy / "appearances.csv", 0, "stance", "assert")
    edit_cell(data_copy / "troop_estimates.csv", 1, "excerpt", "this sentence is in no seed")
    result = run_build(data_copy, out)
    assert result.returncode == 1
    # Every problem of the run is reported, each with file:line:column and a fix.
    assert f"appearances.csv:2:{column}: column 'stance': 'assert' is not an allowed value" in result.stderr
    assert "troop_estimates.csv:3:" in result.stderr and "not found in seeds/" in result.stderr
    assert result.stderr.count("Fix:") == 3 and "3 problem(s)" in result.stderr
    assert out.read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "dist").iterdir()) == before_dist
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build", "data", "dist", "nk_russia.db"]


def test_changed_seed_is_refused(data_copy, tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for p in SEEDS.glob("*.txt"):
        (seeds / p.name).write_bytes(p.read_bytes())
    victim = seeds / "003_a098e6d6fb83daf6.txt"
    victim.write_bytes(victim.read_bytes().replace(b"3,000", b"4,000"))
    result = subprocess.run([sys.executable, "-m", "scripts.build", "--check-only", "--data", str(data_copy), "--seeds", str(seeds)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1 and "changed after curation" in result.stderr


def test_excerpt_occurring_twice_must_be_disambiguated(data_copy):
    text = (SEEDS / "003_a098e6d6fb83daf6.txt").read_text(encoding="utf-8")
    assert len(find_all(text, "North Korean troops")) > 1
    from .conftest import read_csv
    header, rows = read_csv(data_copy / "appearances.csv")
    index = next(i for i, r in enumerate(rows) if r["document_id"] == "003_a098e6d6fb83daf6")
    edit_cell(data_copy / "appearances.csv", index, "excerpt", "North Korean troops")
    result = subprocess.run([sys.executable, "-m", "scripts.build", "--check-only", "--data", str(data_copy)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1 and "excerpt_occurrence" in result.stderr
