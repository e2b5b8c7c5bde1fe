"""make add-document: a new text to a seed, a documents row and a worksheet, then rows and a release whose
change log lists exactly those additions; refusals change nothing.

The new text is tests/fixtures/new_document.txt, written for these tests and labelled as a fixture in its
own first line: it reports nothing. Everything runs in a scratch copy of the repository's inputs.
"""
import csv
import io
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from scripts import add_document as ad
from scripts.build import build
from scripts.coverage import document_coverage, sentences
from scripts.locate import sha256_hex
from scripts.releases import next_version, release_folders

from .conftest import DATA, ROOT, SEEDS, read_csv, read_only, write_csv
from .test_releases import COPIED, catch_up_release, set_version

FIXTURE = ROOT / "tests" / "fixtures" / "new_document.txt"
VENV = ROOT / ".venv"


@pytest.fixture
def repo(tmp_path):
    """A scratch copy of what make add-document, make coverage and make release need, modification times
    kept (make compares them)."""
    root = tmp_path / "repo"
    for name in COPIED:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, root / name)
    return root


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def make(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", "-C", str(repo), f"VENV={VENV}", *args],
                          capture_output=True, text=True, timeout=600)


# ---- pure helpers ----

def test_normalise_sets_aside_quotes_dashes_spaces_and_case():
    assert ad.normalise("\ufeff“Kim’s”  troops —\nOVER 10,000") == ad.normalise('"kim\'s" troops - over 10,000')


def test_new_ids_follow_the_seeds_form():
    data = b"fixture bytes"
    assert ad.new_document_id(["000_61cd173a0de24f26", "004_6430447de3ba17d5"], data) == f"005_{sha256_hex(data)[:16]}"
    assert ad.new_document_id([], data).startswith("000_")


def test_name_variants_keep_brackets_names_and_model_designations_only():
    assert ad.name_variants("U.S. Department of Defense (Pentagon)") == [
        "U.S. Department of Defense (Pentagon)", "U.S. Department of Defense", "Pentagon"]
    assert "South Korea" not in ad.name_variants("National Intelligence Service (South Korea)")
    assert "S-400" in ad.name_variants("S-400 long-range surface-to-air missile system")


def test_mentions_find_names_by_whole_words_and_curated_passages():
    vocab = ad.Vocabulary(names=[("actor", "nato", "NATO", "NATO"), ("weapon system", "s-400", "S-400 system", "S-400")],
                          passages=[("c1", "A claim", "A curated passage about something long enough.")])
    found = vocab.mentions("NATO said the S-400 moved; a curated passage about something long enough.")
    assert [(m.kind, m.id) for m in found] == [("actor", "nato"), ("weapon system", "s-400"), ("claim", "c1")]
    assert vocab.mentions("Senators met.") == []  # 'NATO' inside 'Senators' is not a mention


def test_the_row_states_only_what_was_given_and_the_dates_basis():
    header = ["id", "label", "outlet", "url", "archive_url", "date_start", "date_precision", "date_inferred", "date_basis", "sha256"]
    row = ad.documents_row(header, "005_0123456789abcdef", b"x", {"outlet": "Fixture outlet"}, "2026-11")
    assert row["outlet"] == "Fixture outlet" and row["url"] == row["archive_url"] == ""
    assert (row["date_start"], row["date_precision"], row["date_inferred"]) == ("2026-11", "month", "false")
    assert "given as 2026-11" in row["date_basis"] and row["sha256"] == sha256_hex(b"x")
    undated = ad.documents_row(header, "005_0123456789abcdef", b"x", {}, None)
    assert (undated["date_start"], undated["date_precision"]) == ("", "unknown") and undated["label"]


# ---- the command, in a scratch copy ----

def test_a_new_text_becomes_a_seed_a_row_and_a_worksheet_and_builds_at_zero_coverage(repo, tmp_path):
    catch_up_release(repo)  # whatever the data holds beyond the latest release, so that the next one is ours alone
    result = make(repo, "add-document", f"FILE={FIXTURE}", "OUTLET=Test fixture (no outlet)", "DATE=2026-11-30")
    assert result.returncode == 0, result.stderr
    data = FIXTURE.read_bytes()
    doc_id = f"005_{sha256_hex(data)[:16]}"
    assert (repo / "seeds" / f"{doc_id}.txt").read_bytes() == data
    _, rows = read_csv(repo / "data" / "documents.csv")
    assert [r["id"] for r in rows][:5] == [r["id"] for r in read_csv(DATA / "documents.csv")[1]]
    new = rows[-1]
    assert new["id"] == doc_id and new["sha256"] == sha256_hex(data) and new["outlet"] == "Test fixture (no outlet)"
    assert new["url"] == new["archive_url"] == new["supplied_by"] == new["retrieved_on"] == ""  # never invented
    assert (new["date_start"], new["date_precision"]) == ("2026-11-30", "day")

    sheet = (repo / "worksheets" / f"{doc_id}.md").read_text(encoding="utf-8")
    text = data.decode("utf-8")
    for i, s in enumerate(sentences(text), 1):
        assert f"### S{i} · characters {s.start}–{s.end}" in sheet and f"\n{s.text}\n" in sheet
    for ident in ("kim-jong-un", "us-dod", "s-400"):  # named in the fixture: Kim Jong-un, the Pentagon, the S-400
        assert f"`{ident}`" in sheet, ident

    result = make(repo, "coverage")  # builds the scratch copy, then reports
    assert result.returncode == 0, result.stderr
    substantive = sum(s.substantive for s in sentences(text))
    assert f"{doc_id}: 0/{substantive} substantive sentences covered (0%)" in result.stdout

    # The curator copies an excerpt from the worksheet into a new row; the build locates it.
    excerpt = next(s.text for s in sentences(text) if "S-400" in s.text)
    header, mentions = read_csv(repo / "data" / "weapon_mentions.csv")
    mentions.append({**{k: "" for k in header}, "id": "005-wm-01", "weapon_system_id": "s-400", "document_id": doc_id,
                     "source_id": "unattributed", "status": "context", "excerpt": excerpt})
    write_csv(repo / "data" / "weapon_mentions.csv", header, mentions)
    db = tmp_path / "after.db"
    build(repo / "data", repo / "seeds", db)
    conn = sqlite3.connect(db)
    try:
        start, end = conn.execute("SELECT char_start, char_end FROM weapon_mentions WHERE id = '005-wm-01'").fetchone()
        assert text[start:end] == excerpt
        report = {d["document_id"]: d for d in document_coverage(conn)}
        assert report[doc_id]["covered"] == 1 and report[doc_id]["sentences"] == substantive
    finally:
        conn.close()

    # Released as a MINOR version, the change log lists exactly the document and the row added, nothing else.
    version = next_version(release_folders(repo / "releases")[-1][0], "minor")
    set_version(repo, version)
    result = make(repo, "release")
    assert result.returncode == 0, result.stderr
    conn = read_only(repo / "nk_russia.db")
    try:
        changes = {(r["table_name"], r["row_id"], r["change"]) for r in conn.execute(
            "SELECT * FROM release_changes WHERE release = ?", [version])}
    finally:
        conn.close()
    assert changes == {("documents", doc_id, "added"), ("weapon_mentions", "005-wm-01", "added")}
    assert version in (repo / "CHANGELOG.md").read_text(encoding="utf-8")


def refused(repo: Path, file: Path, *options: str) -> str:
    before = snapshot(repo)
    result = make(repo, "add-document", f"FILE={file}", *options)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    own = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    assert own[-1].endswith("nothing was changed."), result.stderr
    assert snapshot(repo) == before
    return result.stderr


def test_refusals_name_the_problem_and_change_nothing(repo, tmp_path):
    seed = sorted(SEEDS.glob("*.txt"))[3]
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Fixture line one.\nCaf\u00e9 fixture.\n".encode("latin-1"))
    assert "latin1.txt:2:4:" in refused(repo, latin1) and "0xe9 is not UTF-8" in refused(repo, latin1)
    empty = tmp_path / "empty.txt"
    empty.write_text(" \n\n", encoding="utf-8")
    assert "is empty" in refused(repo, empty)
    assert f"same bytes as seeds/{seed.name}" in refused(repo, seed)
    retyped = tmp_path / "retyped.txt"  # the same text with straight quotes and other line breaks
    retyped.write_text(seed.read_text(encoding="utf-8").translate(ad.LOOKALIKES).replace("\n", "\r\n"), encoding="utf-8")
    assert f"same text as seeds/{seed.name}" in refused(repo, retyped)
    longer = tmp_path / "longer.txt"
    longer.write_bytes(b"Fixture heading added above a seed\n" + seed.read_bytes())
    assert f"contains the whole text of seeds/{seed.name}" in refused(repo, longer)
    missing = tmp_path / "missing.txt"
    assert "does not exist" in refused(repo, missing)
    # the new row is checked by the build's own rules, each problem naming the option to correct
    assert "column 'date_start': '30/11/2026' does not have the expected form" in refused(repo, FIXTURE, "DATE=30/11/2026")
    assert "'2026-02-30' is not a date on the calendar" in refused(repo, FIXTURE, "DATE=2026-02-30")
    assert "column 'url': 'example' does not have the expected form" in refused(repo, FIXTURE, "URL=example")
    assert "(make add-document LANGUAGE=…)" in refused(repo, FIXTURE, "LANGUAGE=English")
    assert "HEADLINE is not in the text" in refused(repo, FIXTURE, "HEADLINE=A headline the fixture does not print")


def test_a_text_repeating_most_of_a_seeds_curated_excerpts_is_already_curated(repo, tmp_path):
    doc_id = "003_a098e6d6fb83daf6"
    _, rows = read_csv(DATA / "appearances.csv")
    excerpts = sorted({r["excerpt"] for r in rows if r["document_id"] == doc_id})
    rearranged = tmp_path / "rearranged.txt"  # the curated passages in another order, under another heading
    rearranged.write_text("Fixture: curated passages rearranged\n" + "\n".join(reversed(excerpts)) + "\n", encoding="utf-8")
    err = refused(repo, rearranged)
    assert f"excerpts curated from seeds/{doc_id}.txt" in err and "already curated" in err


def test_worksheet_of_a_real_seed_lists_the_curated_actors_and_claims():
    """On a seed already curated, the worksheet finds what the curators found: a check of the matching."""
    doc_id = "003_a098e6d6fb83daf6"
    text = (SEEDS / f"{doc_id}.txt").read_text(encoding="utf-8")
    pkg = ad.load_package(DATA / "datapackage.json")
    excerpts, passages = ad.curated_excerpts(DATA, pkg)
    sheet = ad.worksheet(doc_id, text, {"sha256": sha256_hex(text.encode())}, ad.vocabulary(DATA, passages))
    _, appearances = read_csv(DATA / "appearances.csv")
    for claim in {r["claim_id"] for r in appearances if r["document_id"] == doc_id}:
        assert f"claim `{claim}`" in sheet, claim
    assert "actor `lloyd-austin`" in sheet


def test_aliases_from_the_alias_table_are_looked_for_when_it_exists(tmp_path):
    (tmp_path / "actors.csv").write_text("id,name\nfixture-person,Fixture Person Name\n", encoding="utf-8")
    assert ad.vocabulary(tmp_path, []).mentions("Fixturovich spoke.") == []
    (tmp_path / "aliases.csv").write_text("alias,actor_id,weapon_system_id,claim_id,variant\n"
                                          "Fixturovich,fixture-person,,,transliteration\n", encoding="utf-8")
    found = ad.vocabulary(tmp_path, []).mentions("Fixturovich spoke.")
    assert [(m.kind, m.id, m.via) for m in found] == [("actor", "fixture-person", "Fixturovich")]
