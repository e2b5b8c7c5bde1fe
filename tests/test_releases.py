"""Releases: the version check, the change log by id, `make release`, /changes, the Atom feed, row history
and old releases kept downloadable (scripts/releases.py, scripts/release.py, plugins/nk_releases.py)."""
import hashlib
import json
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import feedparser
import pytest

from scripts.release import site_plugin
from scripts.releases import (RETIRED, Snapshot, diff, next_version, parse_version, release_folders, release_status,
                              version_problem, zip_name)

from .conftest import ROOT, read_csv, unrelated_claims, write_csv

RELEASES = ROOT / "releases"


def snap(tables: dict, types: dict | None = None) -> Snapshot:
    """A snapshot from {table: [rows]} (every value text, as read from a CSV)."""
    types = types or {name: {c: "string" for c in (rows[0] if rows else {"id": ""})} for name, rows in tables.items()}
    return Snapshot({}, {name: {r["id"]: r for r in rows} for name, rows in tables.items()}, types)


BASE = {"claims": [{"id": "c1", "claim": "a"}, {"id": "c2", "claim": "b"}]}


def test_versions_are_three_numbers_and_bump_by_level():
    assert parse_version("1.10.0") == (1, 10, 0) and parse_version("1.0") is None and parse_version("01.0.0") is None
    assert [next_version("1.4.2", level) for level in ("patch", "minor", "major")] == ["1.4.3", "1.5.0", "2.0.0"]


@pytest.mark.parametrize("current, level, words", [
    ({"claims": [{"id": "c1", "claim": "a"}, {"id": "c2", "claim": "B"}]}, "patch", "claims: 1 row(s) changed (c2)"),
    ({"claims": BASE["claims"] + [{"id": "c3", "claim": "c"}]}, "minor", "claims: 1 row(s) added (c3)"),
    ({"claims": BASE["claims"][:1]}, "major", "claims: 1 row(s) removed (c2)"),
    ({"claims": [dict(r, topic="t") for r in BASE["claims"]]}, "minor", "claims: 1 column(s) added (topic)"),
    ({"claims": [{"id": r["id"]} for r in BASE["claims"]]}, "major", "claims: 1 column(s) removed (claim)"),
    ({"claims": BASE["claims"][:1], RETIRED: [{"id": "c2", "table_name": "claims", "reason": "duplicate of c1",
                                              "replaced_by": "c1", "retired_on": "2026-12-01"}]}, "major", "1 id(s) retired (c2)"),
    ({"claims": [{"id": "c1", "claim": "A"}, {"id": "c3", "claim": "c"}]}, "major", "claims: 1 row(s) removed (c2)"),
    (BASE, None, None),
])
def test_the_level_a_change_needs(current, level, words):
    d = diff(snap(BASE), snap(current))
    got, reasons = d.level()
    assert got == level
    assert (words == reasons[0]) if words else reasons == []


def test_a_retyped_column_needs_a_major_release():
    before = snap(BASE, {"claims": {"id": "string", "claim": "string"}})
    after = snap(BASE, {"claims": {"id": "string", "claim": "integer"}})
    assert diff(before, after).level() == ("major", ["claims: 1 column(s) retyped (claim)"])


def test_a_retired_row_is_one_retirement_not_also_a_removal():
    retired = {"id": "c2", "table_name": "claims", "reason": "duplicate", "replaced_by": "c1", "retired_on": "2026-12-01"}
    d = diff(snap(BASE), snap({"claims": BASE["claims"][:1], RETIRED: [retired]}))
    assert d.level() == ("major", ["1 id(s) retired (c2)"])  # and not "1 row(s) removed" as well
    from scripts.releases import change_rows
    (row,) = change_rows("2.0.0", d)
    assert (row["table_name"], row["row_id"], row["change"]) == ("claims", "c2", "retired")
    assert json.loads(row["old_value"]) == {"id": "c2", "claim": "b"} and json.loads(row["new_value"])["replaced_by"] == "c1"


@pytest.mark.parametrize("declared, message, fix", [
    ("1.0.1", "does not match what changed since release 1.0.0: MINOR", 'set "version" to 1.1.0'),
    ("3.0.0", "does not match what changed", 'set "version" to 1.1.0'),
    ("0.9.0", "older than the latest release 1.0.0", 'set "version" to 1.1.0'),
    ("1.0", "not a semantic version", '"1.1.0"'),
])
def test_a_declared_version_that_does_not_fit_is_refused_at_its_place(tmp_path, declared, message, fix):
    (tmp_path / "1.0.0").mkdir()
    (tmp_path / "1.0.0" / "datapackage.json").write_text("{}")
    from scripts.releases import Status
    d = diff(snap(BASE), snap({"claims": BASE["claims"] + [{"id": "c3", "claim": "c"}]}))
    status = Status(declared, "1.0.0", *d.level(), d)
    package = tmp_path / "datapackage.json"
    package.write_text('{\n  "name": "x",\n  "version": "%s"\n}\n' % declared)
    problem = version_problem(status, package, "data/datapackage.json")
    assert (problem.path, problem.line, problem.column) == ("data/datapackage.json", 3, 14)
    assert message in problem.message and fix in problem.fix


def test_unreleased_changes_are_allowed_in_the_build_and_said():
    from scripts.releases import Status
    d = diff(snap(BASE), snap({"claims": BASE["claims"][:1]}))
    status = Status("1.0.0", "1.0.0", *d.level(), d)
    assert status.state == "unreleased" and version_problem(status, Path(__file__), "x") is None
    assert "unreleased changes since v1.0.0" in status.notice() and 'set "version" to 2.0.0' in status.notice()


# ---- the releases kept in the repository ---------------------------------------------------------

def test_first_release_is_the_curated_data_and_its_zip_is_reproducible():
    plugin = site_plugin(ROOT)
    versions = [v for v, _ in release_folders(RELEASES)]
    assert versions[0] == "1.0.0"
    for version, folder in release_folders(RELEASES):
        sums = plugin.release_files(version)
        package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
        assert package["version"] == version and package["created"][:4].isdigit()
        assert sorted(sums) == sorted([p.name for p in folder.iterdir() if p.name != "SHA256SUMS"] + [zip_name(version)])
        for name, sha in sums.items():
            data = plugin.release_zip(folder, version) if name == zip_name(version) else (folder / name).read_bytes()
            assert hashlib.sha256(data).hexdigest() == sha, name
    assert "## 1.0.0 — " in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def test_every_release_is_a_valid_data_package():
    from frictionless import Package
    for version, folder in release_folders(RELEASES):
        report = Package(str(folder / "datapackage.json")).validate()
        assert report.valid, (version, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10])


def test_release_tables_list_every_release_and_first_appearances(built, conn):
    releases = [dict(r) for r in conn.execute("SELECT * FROM releases WHERE released ORDER BY position")]
    assert [r["version"] for r in releases] == [v for v, _ in release_folders(RELEASES)]
    assert releases[0]["level"] == "first"
    first = releases[0]["version"]
    resources = json.loads((RELEASES / first / "datapackage.json").read_text(encoding="utf-8"))["resources"]
    in_first = sum(len(read_csv(RELEASES / first / r["path"])[1]) for r in resources if r["name"] != RETIRED)
    assert conn.execute("SELECT count(*) FROM release_changes WHERE release = ? AND change = 'added'", [first]).fetchone()[0] == in_first


# ---- the site ------------------------------------------------------------------------------------

def test_changes_page_and_feed(site):
    page = site("/changes")
    assert page.status_code == 200 and 'id="v1.0.0"' in page.text and "/releases/1.0.0/nk-russia-1.0.0.zip" in page.text
    assert 'type="application/atom+xml"' in page.text
    feed = site("/changes.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(feed.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.id and parsed.feed.title and parsed.feed.updated
    assert parsed.entries, "no entry"
    for entry in parsed.entries:
        assert entry.id and entry.title and entry.updated and entry.link.endswith(f"/changes#v{entry.id.rsplit('#v', 1)[1]}")
    first = next(e for e in parsed.entries if e.id.endswith("#v1.0.0"))
    assert any(link.rel == "enclosure" and link.href.endswith("/releases/1.0.0/nk-russia-1.0.0.zip") for link in first.links)


def test_old_releases_stay_downloadable_byte_for_byte(site):
    for version, folder in release_folders(RELEASES):
        for path in folder.iterdir():
            response = site(f"/releases/{version}/{path.name}")
            assert response.status_code == 200 and response.content == path.read_bytes(), path
        response = site(f"/releases/{version}/{zip_name(version)}")
        sums = dict(line.split()[::-1] for line in (folder / "SHA256SUMS").read_text().splitlines())
        assert response.headers["content-type"] == "application/zip"
        assert hashlib.sha256(response.content).hexdigest() == sums[zip_name(version)]
    assert site("/releases/1.0.0/secret.txt").status_code == 404
    assert site("/releases/1.0.0/").status_code == 302 and site("/releases/1.0.0/").headers["location"] == "/changes#v1.0.0"
    assert site("/releases/9.9.9/claims.csv").status_code == 404


def test_row_pages_say_when_the_row_first_appeared(site, conn):
    row_id = conn.execute("SELECT id FROM appearances ORDER BY id LIMIT 1").fetchone()[0]
    first = conn.execute("SELECT release FROM release_changes WHERE table_name = 'appearances' AND row_id = ? "
                         "AND change = 'added' AND release != 'unreleased'", [row_id]).fetchone()
    page = site(f"/nk_russia/appearances/{row_id}").text
    assert "History of this row" in page
    if first:
        assert f'First appeared in <a href="/changes#v{first[0]}">release {first[0]}</a>' in page
    actor = conn.execute("SELECT id FROM actors ORDER BY id LIMIT 1").fetchone()[0]
    assert "History of this row" in site(f"/nk_russia/actors/{actor}").text  # tables without a page of their own too


def test_a_row_as_an_old_release_published_it(site):
    header, rows = read_csv(RELEASES / "1.0.0" / "claims.csv")
    page = site(f"/releases/1.0.0/claims/{rows[0]['id']}")
    assert page.status_code == 200
    assert "as release 1.0.0 published it" in page.text and rows[0]["claim"].replace("'", "&#39;") in page.text
    assert site("/releases/1.0.0/claims/no-such-claim").status_code == 404


# ---- a change, released, in a scratch copy of the repository ------------------------------------

COPIED = ["data", "seeds", "scripts", "plugins", "templates", "static", "releases", "metadata.yml", "settings.json",
          "Makefile", "requirements.txt", "CHANGELOG.md"]


def run_make(repo: Path, target: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", target, f"VENV={ROOT / '.venv'}"], cwd=repo,
                          capture_output=True, text=True)


def set_version(repo: Path, version: str) -> None:
    path = repo / "data" / "datapackage.json"
    package = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(path.read_text(encoding="utf-8").replace(f'"version": "{package["version"]}"', f'"version": "{version}"', 1),
                    encoding="utf-8")


def retired_ids_csv(repo: Path) -> Path:
    """data/retired_ids.csv, with its resource declared as the checks' issue declares it when this branch lacks it."""
    path = repo / "data" / "datapackage.json"
    package = json.loads(path.read_text(encoding="utf-8"))
    if not any(r["name"] == RETIRED for r in package["resources"]):
        fields = [{"name": n, "type": "string", "description": f"Test fixture column {n}."}
                  for n in ("id", "table_name", "reason", "replaced_by", "retired_on")]
        package["resources"].append({"name": RETIRED, "path": f"{RETIRED}.csv", "title": "Retired ids",
                                     "description": "Ids withdrawn from the dataset (declared here by a test).",
                                     "schema": {"fields": fields, "primaryKey": ["id"]}})
        path.write_text(json.dumps(package, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        write_csv(repo / "data" / f"{RETIRED}.csv", [f["name"] for f in fields], [])
    return repo / "data" / f"{RETIRED}.csv"


def catch_up_release(repo: Path) -> None:
    """Release what the data already holds beyond the latest release (curation merged since), as its refusal
    says to, so that the next release holds only the test's changes; then nothing is left to release."""
    first = run_make(repo, "release")
    fix = re.search(r'set "version" to ([0-9.]+), then run make release again', first.stderr)
    if fix:
        set_version(repo, fix.group(1))
        assert run_make(repo, "release").returncode == 0
    again = run_make(repo, "release")
    assert again.returncode != 0 and "there is nothing to release" in again.stderr, again.stderr


@pytest.fixture(scope="module")
def released_change(tmp_path_factory):
    """A scratch copy of the repository in which a row is added, a value changed and an id retired, then released."""
    repo = tmp_path_factory.mktemp("repo")
    for name in COPIED:
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy2)(ROOT / name, repo / name)
    catch_up_release(repo)
    header, rows = read_csv(repo / "data" / "claim_relations.csv")
    kept, retired, changed = rows[0], rows[1], rows[2]
    claim, other = unrelated_claims(repo / "data")
    added = dict(kept, id="test-fixture-added-relation", claim_id=claim, relation="responds_to", related_claim_id=other,
                 basis="Test fixture: a relation added by the release test.")
    old_basis = changed["basis"]
    changed["basis"] = "Test fixture: a corrected basis."
    write_csv(repo / "data" / "claim_relations.csv", header, [r for r in rows if r is not retired] + [added])
    retired_path = retired_ids_csv(repo)
    r_header, r_rows = read_csv(retired_path)
    retirement = {"id": retired["id"], "table_name": "claim_relations", "reason": "Test fixture: withdrawn by the release test.",
                  "replaced_by": kept["id"], "retired_on": "2026-12-01"}
    write_csv(retired_path, r_header, r_rows + [{k: retirement.get(k, "") for k in r_header}])
    latest = release_folders(repo / "releases")[-1][0]
    unbumped = run_make(repo, "release")
    set_version(repo, next_version(latest, "major"))
    result = run_make(repo, "release")
    return {"repo": repo, "result": result, "unbumped": unbumped, "latest": latest, "version": next_version(latest, "major"),
            "added": added["id"], "retired": retired["id"], "kept": kept["id"], "changed": (changed["id"], old_basis, changed["basis"])}


def test_make_release_refuses_an_unbumped_version_naming_the_fix(released_change):
    unbumped, latest = released_change["unbumped"], released_change["latest"]
    assert unbumped.returncode != 0 and "Traceback" not in unbumped.stderr
    assert "datapackage.json:" in unbumped.stderr and f"set \"version\" to {next_version(latest, 'major')}" in unbumped.stderr
    assert "Release refused: nothing was written." in unbumped.stderr
    assert f"unreleased changes since v{latest}" in unbumped.stderr  # the build itself went through, saying so


def test_a_released_change_lists_exactly_what_changed(released_change):
    repo, version = released_change["repo"], released_change["version"]
    assert released_change["result"].returncode == 0, released_change["result"].stderr
    assert (repo / "releases" / version / "claim_relations.csv").exists()
    from .conftest import read_only
    conn = read_only(repo / "nk_russia.db")
    try:
        got = {(r["table_name"], r["row_id"], r["change"], r["field"], r["old_value"] if r["change"] == "changed" else None,
                r["new_value"] if r["change"] == "changed" else None)
               for r in conn.execute("SELECT * FROM release_changes WHERE release = ?", [version])}
        assert conn.execute("SELECT count(*) FROM releases WHERE NOT released").fetchone()[0] == 0
    finally:
        conn.close()
    changed_id, old, new = released_change["changed"]
    assert got == {("claim_relations", released_change["added"], "added", None, None, None),
                   ("claim_relations", released_change["retired"], "retired", None, None, None),
                   ("claim_relations", changed_id, "changed", "basis", old, new)}
    changelog = (repo / "CHANGELOG.md").read_text(encoding="utf-8")
    assert changelog.index(f"## {version} — ") < changelog.index(f"## {released_change['latest']} — ")
    assert "| claim_relations | 1 | 0 | 1 |" in changelog and f"`{released_change['retired']}`" in changelog


def test_the_feed_and_the_row_page_of_a_released_change(released_change):
    from scripts.serve import serve_args, start, stop
    repo, version = released_change["repo"], released_change["version"]
    changed_id, old, new = released_change["changed"]
    proc, base = start(serve_args(repo / "nk_russia.db", repo / "build", None, root=repo))
    try:
        feed = feedparser.parse(urllib.request.urlopen(base + "/changes.atom").read())
        row_page = urllib.request.urlopen(f"{base}/nk_russia/claim_relations/{changed_id}").read().decode()
        old_row = urllib.request.urlopen(f"{base}/releases/{released_change['latest']}/claim_relations/{released_change['retired']}").read().decode()
    finally:
        stop(proc)
    assert not feed.bozo
    entry = next(e for e in feed.entries if e.id.endswith(f"#v{version}"))
    lines = entry.summary.splitlines()
    assert sorted(lines) == sorted([
        f"claim_relations {released_change['added']}: added",
        f"claim_relations {changed_id}: basis: “{old}” → “{new}”",
        f"claim_relations {released_change['retired']}: retired (Test fixture: withdrawn by the release test., "
        f"replaced by {released_change['kept']})"])
    assert f"Last changed in <a href=\"/changes#v{version}\">release {version}</a>" in row_page
    assert "Test fixture: a corrected basis." in row_page
    assert f"as release {released_change['latest']} published it" in old_row


def test_templates_get_the_current_release_for_citations(built):
    """nk_release: what the citation block names (plugins/nk_releases.py current_release)."""
    import asyncio
    from .conftest import site_instance
    release = asyncio.run(site_plugin(ROOT).current_release(site_instance(built)))
    latest, _ = release_folders(RELEASES)[-1]
    assert release["version"] == latest and release["citation_label"].startswith(f"release {latest} of 20")
    assert release["zip_url"] == f"/releases/{latest}/{zip_name(latest)}"


def test_the_build_compares_the_same_values_its_csv_export_holds(pkg, built, conn):
    from scripts.releases import database_snapshot, read_snapshot
    exported, loaded = read_snapshot(built["dist"]), database_snapshot(conn, pkg)
    assert exported.tables == loaded.tables and exported.types == loaded.types and exported.keys == loaded.keys
