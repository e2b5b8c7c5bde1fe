"""plugins/nk_redirects.py on a real server: a retired ID's row page redirects to its survivor, which says
why; an ID removed without replacement answers 410 with the reason.

The retired rows are test fixtures added to a copy of data/ (data/retired_ids.csv may hold none yet).
"""
import shutil
import urllib.error
import urllib.request

import pytest

import nk_redirects
from scripts.build import build
from scripts.serve import start_site, stop

from .conftest import DATA, ROOT, SEEDS, read_csv, write_csv

MERGED = {"id": "fixture-merged-claim", "table_name": "claims", "replaced_by": "kp-troops-in-russia",
          "reason": "Test fixture: the same proposition as the survivor.", "retired_on": "2026-12-01"}
REMOVED = {"id": "fixture-removed-claim", "table_name": "claims", "replaced_by": "",
           "reason": "Test fixture: a claim no document makes.", "retired_on": "2026-11-30"}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str):
    """(status, headers, body) without following redirects."""
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=30) as r:
            return r.status, r.headers, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode("utf-8")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    out = tmp_path_factory.mktemp("retired")
    data = out / "data"
    shutil.copytree(DATA, data)
    header, rows = read_csv(data / "retired_ids.csv")
    write_csv(data / "retired_ids.csv", header, rows + [MERGED, REMOVED])
    build(data, SEEDS, out / "nk_russia.db", ROOT / "metadata.yml", out / "build")
    with open(out / "server.log", "wb") as log:
        proc, base = start_site(out / "nk_russia.db", out / "build", log)
        yield base
        stop(proc)


def test_retired_row_page_redirects_to_its_survivor(server):
    status, headers, _ = fetch(f"{server}/nk_russia/claims/{MERGED['id']}")
    assert status == 301
    assert headers["Location"] == f"/nk_russia/claims/{MERGED['replaced_by']}"
    assert headers["Cache-Control"] == "max-age=86400"


def test_json_and_query_string_follow_the_redirect(server):
    status, headers, _ = fetch(f"{server}/nk_russia/claims/{MERGED['id']}.json?_shape=objects")
    assert status == 301
    assert headers["Location"] == f"/nk_russia/claims/{MERGED['replaced_by']}.json?_shape=objects"


def test_survivor_page_says_what_was_merged_into_it(server):
    status, _, html = fetch(f"{server}/nk_russia/claims/{MERGED['replaced_by']}")
    assert status == 200
    assert f"{MERGED['id']} was merged into this claim on {MERGED['retired_on']}: {MERGED['reason']}" in html


def test_removed_id_answers_gone_with_the_reason(server):
    status, headers, html = fetch(f"{server}/nk_russia/claims/{REMOVED['id']}")
    assert status == 410
    assert headers["Content-Type"].startswith("text/html")
    assert f"{REMOVED['id']} was removed on {REMOVED['retired_on']}: {REMOVED['reason']}" in html
    assert "Content-Security-Policy" in headers  # the site's other wrappers still apply
    status, _, body = fetch(f"{server}/nk_russia/claims/{REMOVED['id']}.json")
    assert status == 410 and REMOVED["reason"] in body


def test_other_rows_and_unknown_ids_are_untouched(server):
    assert fetch(f"{server}/nk_russia/claims/kp-troops-in-russia")[0] == 200
    assert fetch(f"{server}/nk_russia/claims/no-such-claim-anywhere")[0] == 404
    # the same id in another table is not retired
    assert fetch(f"{server}/nk_russia/appearances/{MERGED['id']}")[0] == 404


@pytest.mark.parametrize("path, target", [
    ("/nk_russia/claims/old", "/nk_russia/claims/new"),
    ("/nk_russia/claims/old.json", "/nk_russia/claims/new.json"),
    ("/nk_russia-0123abcd/claims/old", "/nk_russia-0123abcd/claims/new"),  # datasette-hashed-urls' prefix is kept
])
def test_redirect_target_keeps_prefix_and_format(path, target):
    assert nk_redirects.redirect_target(nk_redirects.ROW_PAGE.match(path), "new", b"") == target


def test_survivor_ids_are_tilde_encoded_like_datasette_row_urls():
    match = nk_redirects.ROW_PAGE.match("/nk_russia/actors/old")
    assert nk_redirects.redirect_target(match, "a.b", b"x=1") == "/nk_russia/actors/a~2Eb?x=1"


@pytest.mark.parametrize("path", ["/nk_russia/claims", "/nk_russia/claims/a/b", "/other/claims/a", "/-/nk-retired/claims/a",
                                  "/nk_russia-0123abc/claims/a"])
def test_only_row_pages_of_the_database_are_matched(path):
    assert nk_redirects.row_page(path, "/nk_russia") is None


def test_row_pages_are_matched_under_the_databases_hashed_route():
    assert nk_redirects.row_page("/nk_russia-0123abc/claims/a.json", "/nk_russia-0123abc")["pk"] == "a"
    assert nk_redirects.row_page("/nk_russia/claims/a", "/nk_russia-0123abc") is None


def test_every_curated_retired_id_leads_to_its_survivor_or_says_why(site, conn):
    """The real data/retired_ids.csv, on the in-process site."""
    retired = conn.execute("SELECT id, table_name, replaced_by FROM retired_ids").fetchall()
    for r in retired:
        response = site(f"/nk_russia/{r['table_name']}/{r['id']}")
        if r["replaced_by"]:
            assert response.status_code == 301, r["id"]
            assert response.headers["location"] == nk_redirects.redirect_target(
                nk_redirects.ROW_PAGE.match(f"/nk_russia/{r['table_name']}/{r['id']}"), r["replaced_by"], b""), r["id"]
            survivor = site(response.headers["location"])
            assert survivor.status_code == 200 and f"{r['id']} was merged into this" in survivor.text, r["id"]
        else:
            assert response.status_code == 410 and r["id"] in response.text, r["id"]
