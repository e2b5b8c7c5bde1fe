"""bench.generate: synthetic data that the real build accepts, in realistic proportions, deterministic."""
import csv
import sqlite3
from pathlib import Path

import pytest

from bench.generate import MARKER, counts, generate
from scripts.build import build
from scripts.schema import load_package, primary_key, resources, verbatim_fields

from .conftest import DATA, read_only
from .test_curation import referenced_ids

N = 200


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("generated")
    sizes = generate(N, out)
    db = out / "x.db"
    build(out / "data", out / "seeds", db)  # raises BuildFailed, listing every problem, if anything is invalid
    return {"out": out, "sizes": sizes, "db": db}


@pytest.fixture
def gconn(generated):
    c = read_only(generated["db"])
    yield c
    c.close()


def rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_the_real_build_accepts_it_with_every_row(generated, gconn):
    pkg = load_package(generated["out"] / "data" / "datapackage.json")
    for res in resources(pkg):
        assert gconn.execute(f"SELECT count(*) FROM {res['name']}").fetchone()[0] == generated["sizes"][res["name"]], res["name"]
    assert gconn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_package_and_headers_are_the_real_ones(generated):
    data = generated["out"] / "data"
    assert (data / "datapackage.json").read_bytes() == (DATA / "datapackage.json").read_bytes()
    for res in resources(load_package(DATA / "datapackage.json")):
        with open(data / res["path"], encoding="utf-8", newline="") as f:
            assert next(csv.reader(f)) == [fld["name"] for fld in res["schema"]["fields"]]


def test_row_counts_follow_the_real_proportions(generated):
    sizes = dict(generated["sizes"])
    assert sizes.pop("aliases") > 0  # one spelling variant per hyphenated name in the weapon catalogue
    assert sizes == counts(N)
    assert sizes == {"appearances": 200, "documents": 6, "claims": 100, "actors": 50, "quotes": 25,
                     "weapon_mentions": 100, "weapon_specs": 2, "troop_estimates": 10, "claim_relations": 20,
                     "weapon_systems": 50, "retired_ids": 0}
    big = counts(10_000)  # the benchmark sizes scale as the brief and data/*.csv say
    assert big["documents"] == 300 and big["claims"] == 5000 and big["actors"] == 250 and big["quotes"] == 1250
    assert big["weapon_mentions"] == 5000 and big["weapon_specs"] == 100 and big["troop_estimates"] == 500
    assert big["claim_relations"] == 1000 and big["weapon_systems"] == 200
    assert counts(1_000_000)["actors"] == 25_000 and counts(100)["actors"] == 50


def test_contents_look_like_the_real_data(generated, gconn):
    apps = gconn.execute("SELECT count(*), count(DISTINCT excerpt), avg(speaker_id = 'unattributed'), "
                         "avg(reported_by_id IS NOT NULL), count(DISTINCT document_id) FROM appearances").fetchone()
    total, distinct, own_voice, reported, documents = apps
    assert 0.8 < distinct / total < 1  # some sentences carry two claims (real: 145 of 162)
    assert 0.15 < own_voice < 0.6  # real: 58 of 162 in the article's own voice
    assert 0.02 < reported < 0.25  # real: 16 of 162
    assert documents == generated["sizes"]["documents"]
    per_doc = [r[0] for r in gconn.execute("SELECT count(*) FROM appearances GROUP BY document_id")]
    assert min(per_doc) >= 20 and max(per_doc) <= 50  # real: 25 to 47
    mean_chars = gconn.execute("SELECT avg(char_count) FROM documents").fetchone()[0]
    assert 3000 < mean_chars < 5500
    # every claim, actor and weapon system is used (figures agree with their wording: the build refuses them otherwise)
    assert gconn.execute("SELECT count(*) FROM claims WHERE id NOT IN (SELECT claim_id FROM appearances)").fetchone()[0] == 0
    pkg = load_package(generated["out"] / "data" / "datapackage.json")
    for table in ("actors", "weapon_systems"):
        ids = {r[0] for r in gconn.execute(f"SELECT id FROM {table}")}
        assert ids <= referenced_ids(gconn, pkg, table), table
    # all values of the main enums occur
    assert {r[0] for r in gconn.execute("SELECT DISTINCT stance FROM appearances")} >= {"asserts", "warns", "speculates"}
    assert len({r[0] for r in gconn.execute("SELECT DISTINCT category FROM weapon_systems")}) == 16


def test_every_excerpt_is_verbatim_once_in_its_seed_at_its_offsets(generated, gconn):
    out = generated["out"]
    pkg = load_package(out / "data" / "datapackage.json")
    texts = {p.stem: p.read_bytes().decode("utf-8") for p in (out / "seeds").glob("*.txt")}
    checked = 0
    for res in resources(pkg):
        fields = verbatim_fields(res)
        if not fields:
            continue
        pk = primary_key(res)
        located = {r[0]: (r[1], r[2]) for r in gconn.execute(
            f"SELECT {pk}, char_start, char_end FROM {res['name']}")} if ("excerpt", "document") in fields else {}
        for row in rows(out / "data" / res["path"]):
            doc = row["id"] if res["name"] == "documents" else row["document_id"]
            for name, where in fields:
                value = row[name]
                if not value:
                    continue
                assert texts[doc].count(value) == 1, (res["name"], row[pk], name)  # exactly once in the document
                if where != "document":
                    assert value in row[where], (res["name"], row[pk], name)
                if name == "excerpt":
                    start, end = located[row[pk]]
                    assert texts[doc][start:end] == value
                    assert row["excerpt_occurrence"] == ""
                checked += 1
    assert checked > N


def test_documents_record_the_seed_checksums(generated):
    import hashlib
    out = generated["out"]
    docs = rows(out / "data" / "documents.csv")
    assert {d["id"] for d in docs} == {p.stem for p in (out / "seeds").glob("*.txt")}
    for d in docs:
        assert hashlib.sha256((out / "seeds" / f"{d['id']}.txt").read_bytes()).hexdigest() == d["sha256"]


def test_two_runs_give_identical_files(generated, tmp_path):
    first, second = generated["out"], tmp_path / "again"
    generate(N, second)
    names = sorted(p.relative_to(first).as_posix() for p in first.rglob("*") if p.is_file() and p.parent.name in ("data", "seeds"))
    assert names == sorted(p.relative_to(second).as_posix() for p in second.rglob("*") if p.is_file() and p.name != MARKER)
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_another_size_gives_other_data(generated, tmp_path):
    generate(N + 1, tmp_path)
    assert (tmp_path / "data" / "claims.csv").read_bytes() != (generated["out"] / "data" / "claims.csv").read_bytes()


def test_regenerating_replaces_the_previous_output(tmp_path):
    generate(60, tmp_path)
    generate(30, tmp_path)  # fewer documents: no seed of the first run may stay behind (the build refuses unlisted seeds)
    build(tmp_path / "data", tmp_path / "seeds", tmp_path / "x.db")
    assert len(list((tmp_path / "seeds").glob("*.txt"))) == counts(30)["documents"]


def test_refuses_to_overwrite_folders_it_did_not_write(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "claims.csv").write_text("precious\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        generate(10, tmp_path)
    assert (tmp_path / "data" / "claims.csv").read_text(encoding="utf-8") == "precious\n"


@pytest.mark.parametrize("n", [1, 2, 7, 41])
def test_tiny_sizes_still_build(n, tmp_path):
    sizes = generate(n, tmp_path)
    build(tmp_path / "data", tmp_path / "seeds", tmp_path / "x.db")
    c = sqlite3.connect(tmp_path / "x.db")
    try:
        assert c.execute("SELECT count(*) FROM appearances").fetchone()[0] == n == sizes["appearances"]
    finally:
        c.close()
