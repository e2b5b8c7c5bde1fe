"""The published site: home answers, evidence on row pages, annotated documents, queries, metadata."""
import asyncio
import csv
import datetime
import io
import json
import re
import subprocess
import sys

import pytest

import nk_site
from markupsafe import escape
from scripts.schema import load_package, primary_key, resource, resources

from .conftest import ROOT, read_only, site_instance, tables_read

FACT_TABLES = ["appearances", "quotes", "weapon_mentions", "weapon_specs", "troop_estimates"]


# ---- pure helpers ----

def test_passage_is_the_excerpt_in_its_paragraph():
    text = "Title\nFirst sentence. Second one here. Third.\nNext paragraph."
    start = text.index("Second")
    p = nk_site.passage(text, start, start + len("Second one here."))
    assert (p["before"], p["match"], p["after"]) == ("First sentence. ", "Second one here.", " Third.")


def test_segments_cover_the_text_and_end_each_span_once():
    text = "abcdefghij"
    pieces = nk_site.segments(text, [(2, 6, "t/a"), (4, 8, "t/b")])
    assert "".join(p["text"] for p in pieces) == text
    assert [p["refs"] for p in pieces] == [[], ["t/a"], ["t/a", "t/b"], ["t/b"], []]
    assert sum(len(p["ending"]) for p in pieces) == 2


def test_row_paths_only_for_row_references():
    assert nk_site.row_path("appearances/003-ap-01") == "/nk_russia/appearances/003-ap-01"
    assert nk_site.row_path("javascript:alert(1)") is None
    assert nk_site.row_path("../../etc/passwd") is None


def test_citations_name_dataset_publisher_version_licence_and_keep_offsets_machine_readable():
    doc = {"id": "003_x", "headline": "H", "label": "L", "outlet": "", "date_text": "", "date_start": "2024-06",
           "date_end": None, "date_precision": "range", "date_inferred": 1}
    dataset = {"title": "T", "publisher": "P", "version": "0.1.0+abc", "licence": "CC BY 4.0"}
    out = nk_site.citations("W", doc, 1, 5, dataset, "http://h/nk_russia/quotes/q-1", datetime.date(2026, 1, 2))
    assert list(out) == ["Plain text", "APA", "BibTeX", "CSL-JSON"]
    for text in out.values():
        assert "T" in text and "P" in text and "0.1.0+abc" in text and "http://h/nk_russia/quotes/q-1" in text
    assert "“H” (publisher not stated in the text, published 2024-06 or later (inferred); archived as 003_x)" in out["Plain text"]
    assert "CC BY 4.0" in out["Plain text"] and "accessed 2026-01-02" in out["Plain text"]
    assert "characters" not in out["Plain text"] and "characters" not in out["APA"]
    assert "Retrieved January 2, 2026" in out["APA"]
    assert "characters 1--5" in out["BibTeX"] and out["BibTeX"].startswith("@misc{nk_russia_quotes_q_1,")
    csl = json.loads(out["CSL-JSON"])
    assert csl["type"] == "dataset" and csl["locator"] == "1-5" and csl["accessed"]["date-parts"] == [[2026, 1, 2]]


def test_summary_states_the_range_the_increment_and_who_denies():
    est = [{"original_wording": "up to 3,000", "qualifier": "up_to", "scope": "in_russia", "value_low": None,
            "value_best": None, "value_high": 3000, "as_of_start": "2024-06", "as_of_end": None,
            "as_of_precision": "range", "estimator": "NIS"},
           {"original_wording": "over 10,000", "qualifier": "over", "scope": "deployed_to_russia", "value_low": 10000,
            "value_best": None, "value_high": None, "as_of_start": "2024-11", "as_of_end": None,
            "as_of_precision": "month", "estimator": "Officials"},
           {"original_wording": "an additional 1,500", "qualifier": "additional", "scope": "in_russia", "value_low": None,
            "value_best": 1500, "value_high": None, "as_of_start": "2024-06", "as_of_end": None,
            "as_of_precision": "range", "estimator": "NIS"}]
    contested = [{"claim": "C", "supporting_origins": 5, "denying_origins": 1, "unconfirming_origins": 2}]
    text = " ".join(nk_site.summary(est, contested, [{"speaker": "Russian government"}], {"documents": 5}))
    assert "from “up to 3,000” (NIS, as of 2024-06 or later) to “over 10,000” (Officials, as of 2024-11)" in text
    assert "“an additional 1,500”, an increment on an earlier figure, not a total" in text
    assert "“C”" in text and "Denied by: Russian government (1 statement)." in text and "5 archived news texts" in text


def test_an_articles_own_voice_is_named_by_its_article_and_each_article_counts_as_a_source():
    own = {"original_wording": "over 10,000", "qualifier": "over", "scope": "deployed_to_russia", "value_low": 10000,
           "value_best": None, "value_high": None, "as_of_start": "2024-11", "as_of_end": None, "as_of_precision": "month",
           "estimator": "The archived article (own voice)", "estimator_id": nk_site.OWN_VOICE}
    est = [dict(own, document_id="004_x"), dict(own, document_id="002_y", original_wording="about 11,000", value_low=11000)]
    (text, *_) = nk_site.summary(est, [], [], {})
    assert "from 2 sources" in text and "“over 10,000” (article 004, in its own words, as of 2024-11)" in text
    assert "own voice" not in text
    officials = dict(own, estimator="Officials", estimator_id="officials", document_id="002_y")
    (text, *_) = nk_site.summary([dict(own, document_id="004_x"), officials, dict(officials, original_wording="3,000", value_low=3000)], [], [], {})
    assert "to “over 10,000” (Officials, as of 2024-11)" in text  # of equal figures, the source, not the article repeating it
    rumour = dict(own, estimator="Unnamed reports", estimator_id="rumour", estimator_kind="anonymous", original_wording="Approximately 10,000",
                  qualifier="approx", value_low=None, value_best=10000)
    (text, *_) = nk_site.summary([rumour, dict(rumour, estimator="NIS", estimator_id="nis", estimator_kind="intelligence_agency",
                                                original_wording="up to 10,000", qualifier="up_to", value_best=None, value_high=10000),
                                  dict(officials, original_wording="3,000", value_low=3000)], [], [], {})
    assert "to “Approximately 10,000” (Unnamed reports" in text  # about 10,000 reaches past up to 10,000


def test_timeline_places_bounds_and_points():
    pts = [{"as_of": "2024-06", "estimator": "A", "low": None, "best": None, "high": 3000, "label": "x", "href": "/r"},
           {"as_of": "2024-10", "estimator": "B", "low": None, "best": 10000, "high": None, "label": "y", "href": "/s"}]
    layout = nk_site.timeline_layout(pts)
    first, second = layout["marks"]
    assert first["y_best"] is None and first["open_high"] and first["x"] < second["x"]
    assert second["y_best"] < first["y_high"] or second["y_best"] is not None
    assert [l["name"] for l in layout["legend"]] == ["A", "B"]


# ---- pages ----

def test_home_answers_the_headline_questions(site, conn):
    page = site("/").text
    for (wording,) in conn.execute("SELECT original_wording FROM troop_estimates WHERE scope != 'army_size'"):
        assert str(escape(wording)) in page
    for (row_id,) in conn.execute("SELECT id FROM troop_estimates WHERE scope != 'army_size'"):
        assert f"/nk_russia/troop_estimates/{row_id}" in page
    assert "<svg" in page and "What Russia is said to have given North Korea" in page
    air = conn.execute("SELECT name FROM weapon_systems w WHERE category = 'air_defence' AND EXISTS "
                       "(SELECT 1 FROM weapon_mentions m WHERE m.weapon_system_id = w.id AND m.direction = 'ru_to_kp')").fetchall()
    assert air and all(str(escape(n)) in page for (n,) in air)
    for (excerpt,) in conn.execute("SELECT excerpt FROM appearances WHERE stance = 'denies'"):
        assert str(escape(excerpt)) in page


# Tables that grow with the data (1e6 appearances and more); a page that must stay fast reads none of them whole.
LARGE_TABLES = {"appearances", "claims", "quotes", "weapon_mentions", "claim_relations", "sentences"}


def sql_of_page(built, path: str) -> list[tuple[str, dict]]:
    """Every SQL statement (with its parameters) Datasette runs to answer path, traced in-process."""
    from datasette.tracer import capture_traces

    async def go():
        traces = []
        with capture_traces(traces):
            response = await site_instance(built).client.get(path)
        assert response.status_code == 200
        return [(t["sql"], t["params"]) for t in traces if t["type"] == "sql"]
    return asyncio.run(go())



def test_home_reads_only_small_precomputed_tables(built, conn):
    statements = sql_of_page(built, "/")
    assert statements and not any("count(" in sql.lower() for sql, _ in statements)  # counts: the inspect file
    for sql, params in statements:
        assert not tables_read(conn, sql, params) & LARGE_TABLES, sql


@pytest.mark.parametrize("table", FACT_TABLES)
def test_row_pages_show_the_highlighted_excerpt_and_a_citation(site, conn, table):
    for row in conn.execute(f"SELECT id, excerpt FROM {table}"):
        page = site(f"/nk_russia/{table}/{row['id']}").text
        assert f"<mark>{escape(row['excerpt'])}</mark>" in page, row["id"]
        assert "Cite this" in page and f"/nk_russia/{table}/{row['id']}" in page


def test_claim_page_lists_every_appearance(site, conn):
    claim = conn.execute("SELECT claim_id FROM appearances GROUP BY claim_id ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
    page = site(f"/nk_russia/claims/{claim}").text
    for (row_id,) in conn.execute("SELECT id FROM appearances WHERE claim_id = ?", [claim]):
        assert f"/nk_russia/appearances/{row_id}" in page


def test_claim_panel_lists_at_most_claim_limit_appearances_and_links_to_all(generated_build):
    db = read_only(generated_build["db"])
    claim, count = db.execute("SELECT claim_id, appearances FROM claim_evidence ORDER BY appearances DESC LIMIT 1").fetchone()
    first = db.execute("SELECT id FROM appearances WHERE claim_id = ? ORDER BY id LIMIT 1", [claim]).fetchone()[0]
    db.close()
    assert count > nk_site.CLAIM_LIMIT
    ds = site_instance(generated_build)
    for path, limit in ((f"/nk_russia/claims/{claim}", nk_site.CLAIM_LIMIT), (f"/nk_russia/appearances/{first}", nk_site.ROW_PAGE_LIMIT)):
        page = asyncio.run(ds.client.get(path)).text
        panel = page[page.index('<section class="nk-claim">'):]
        panel = panel[:panel.index("</section>")]
        listed = panel[panel.index("<h3>Every appearance</h3>"):]
        assert listed.count('<a href="/nk_russia/appearances/') == limit, path
        assert f"{count} appearances in" in panel
        assert f'href="/nk_russia/appearances?claim_id={claim}"' in panel


def test_document_page_links_every_cited_row(site, conn):
    for (doc_id,) in conn.execute("SELECT id FROM documents"):
        page = site(f"/nk_russia/documents/{doc_id}").text
        for table in FACT_TABLES:
            for (row_id,) in conn.execute(f"SELECT id FROM {table} WHERE document_id = ?", [doc_id]):
                assert f'href="/nk_russia/{table}/{row_id}"' in page, row_id
        assert "substantive sentences" in page


def test_each_cited_excerpt_has_an_anchor_named_by_its_row_and_row_pages_link_to_it(site, conn):
    for (doc_id,) in conn.execute("SELECT id FROM documents"):
        page = site(f"/nk_russia/documents/{doc_id}").text
        for table in FACT_TABLES:
            for row_id, start, excerpt in conn.execute(f"SELECT id, char_start, excerpt FROM {table} WHERE document_id = ?", [doc_id]):
                anchor = f'<span class="nk-anchor" id="{row_id}"></span>'
                assert page.count(f'id="{row_id}"') == 1, row_id
                # the anchor stands where the excerpt starts: the highlighted text after it opens with the excerpt
                after = page[page.index(anchor) + len(anchor):]
                visible = re.sub(r'<span class="nk-anchor"[^>]*></span>|<mark[^>]*>|</mark>|<sup.*?</sup>', "", after)
                assert visible.startswith(str(escape(excerpt))[:40]), row_id
    row = conn.execute("SELECT id, document_id FROM appearances LIMIT 1").fetchone()
    assert f'href="/nk_russia/documents/{row["document_id"]}#{row["id"]}"' in site(f"/nk_russia/appearances/{row['id']}").text
    claim = conn.execute("SELECT claim_id FROM appearances WHERE id = ?", [row["id"]]).fetchone()[0]
    assert f'href="/nk_russia/documents/{row["document_id"]}#{row["id"]}"' in site(f"/nk_russia/claims/{claim}").text


def test_document_page_says_not_stated_for_unknown_sources(site, conn):
    doc = dict(conn.execute("SELECT * FROM documents WHERE url IS NULL LIMIT 1").fetchone())
    page = site(f"/nk_russia/documents/{doc['id']}").text
    section = page[page.index('<dl class="nk-source">'):]
    section = section[:section.index("</dl>")]
    for label, column in (("Original address", "url"), ("Archived copy", "archive_url"), ("Retrieved", "retrieved_on"),
                          ("Text supplied by", "supplied_by")):
        expected = "not stated" if doc[column] is None else str(escape(doc[column]))
        assert f"<dt>{label}</dt><dd>{expected}" in section, label


def test_about_page_and_stylesheet_are_served(site):
    assert site("/about").status_code == 200
    assert site("/static/nk.css").status_code == 200


# ---- queries ----

def canned_queries():
    import yaml
    meta = yaml.safe_load((ROOT / "metadata.yml").read_text(encoding="utf-8"))
    return meta["databases"]["nk_russia"]["queries"]


def test_at_least_ten_described_canned_queries():
    queries = canned_queries()
    assert len(queries) >= 10
    for name, q in queries.items():
        assert q.get("title") and q.get("description"), name


@pytest.mark.parametrize("name", list(canned_queries()))
def test_every_canned_query_runs_with_its_defaults(site, name):
    response = site(f"/nk_russia/{name}.json?_shape=array")
    assert response.status_code == 200, response.text[:300]
    assert isinstance(response.json(), list)


def test_search_highlights_a_known_phrase(site):
    rows = site("/nk_russia/search.json?_shape=array&q=S-400").json()
    assert rows and all("S-400" in r["snippet"] for r in rows)
    page = site("/nk_russia/search?q=S-400").text
    assert "<mark>S</mark>" in page or "<mark>S-400</mark>" in page


@pytest.mark.parametrize("q", ["", "   ", '"', "fake news\"", "S-400", "*", "NEAR(a b)", "Russia's", "a -b", "'; drop table claims; --"])
def test_search_behaves_on_odd_input(site, q):
    response = site("/nk_russia/search.json?_shape=array&q=" + __import__("urllib.parse").parse.quote(q))
    assert response.status_code == 200, response.text[:300]
    if not q.strip():
        assert response.json() == []


# ---- metadata ----

def test_every_table_view_and_column_is_described(site, conn):
    meta = site("/-/metadata.json").json()
    tables = meta["databases"]["nk_russia"]["tables"]
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                                        "AND name NOT LIKE '%_fts%' AND name NOT LIKE 'sqlite_%'")]
    for name in names:
        assert tables.get(name, {}).get("description"), f"{name} has no description"
        columns = [r[1] for r in conn.execute(f"PRAGMA table_info('{name}')")]
        described = tables[name].get("columns", {})
        assert [c for c in columns if not described.get(c)] == [], name


def test_every_configured_facet_column_is_indexed(site, conn):
    tables = site("/-/metadata.json").json()["databases"]["nk_russia"]["tables"]
    views = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}
    for table, config in tables.items():
        if table in views:
            continue  # a view is indexed through its base tables
        indexed = {r["name"] for idx in conn.execute(f"PRAGMA index_list('{table}')")
                   for r in conn.execute(f"PRAGMA index_info('{idx['name']}')")}
        assert [f for f in config.get("facets", []) if f not in indexed] == [], table


def test_whole_database_downloads_byte_for_byte(site, built):
    response = site("/nk_russia.db")
    assert response.status_code == 200 and response.content == built["db"].read_bytes()


def test_search_tables_are_hidden(site):
    tables = site("/nk_russia.json").json()["tables"]
    assert all(t["hidden"] for t in tables if "_fts" in t["name"])


# ---- exports, read back with independent clients ----

@pytest.mark.parametrize("table", [r["name"] for r in resources(json.loads((ROOT / "data" / "datapackage.json").read_text()))])
def test_csv_and_json_exports_match_the_database(site, conn, table):
    pk = primary_key(resource(load_package(ROOT / "data" / "datapackage.json"), table))
    db_rows = {r[pk]: dict(r) for r in conn.execute(f"SELECT * FROM {table}")}
    exported_csv = site(f"/nk_russia/{table}.csv?_size=max&_labels=off").text
    as_json = subprocess.run([str(ROOT / ".venv" / "bin" / "csvjson"), "--no-inference", "--snifflimit", "0"],
                             input=exported_csv, capture_output=True, text=True, check=True).stdout
    from_csv = {r[pk]: r for r in json.loads(as_json)}
    assert from_csv.keys() == db_rows.keys()
    for row_id, row in db_rows.items():
        assert {k: ("" if v is None else str(v)) for k, v in row.items()} == {k: v or "" for k, v in from_csv[row_id].items()}
    from_json = {r[pk]: r for r in json.loads(site(f"/nk_russia/{table}.json?_shape=array&_size=max").text)}
    assert from_json == db_rows


def test_a_row_page_lists_its_own_origin_even_past_the_row_page_limit(generated_build):
    db = read_only(generated_build["db"])
    claim, origins = db.execute("SELECT claim_id, origins FROM claim_evidence ORDER BY origins DESC LIMIT 1").fetchone()
    assert origins > nk_site.ROW_PAGE_LIMIT
    # the appearance of the origin that sorts last on the claim page
    (ids,) = db.execute("SELECT appearance_ids FROM claim_origins WHERE claim_id = ? ORDER BY counted DESC, stance DESC, "
                        "document_id DESC, sentence_start DESC LIMIT 1", [claim]).fetchone()
    db.close()
    row = ids.split(", ")[0]
    page = asyncio.run(site_instance(generated_build).client.get(f"/nk_russia/appearances/{row}")).text
    here = page[page.index('class="nk-here"'):]
    assert "(this row)" in here[:here.index("</tr>")]
    assert f"The first {nk_site.ROW_PAGE_LIMIT} of {origins} origins." in page
