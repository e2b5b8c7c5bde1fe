"""A real Datasette (in process) over the built database, configured as `make serve` configures it."""
import asyncio
import csv
import io

import pytest

from scripts.schema import resources

from .conftest import site_instance


def table_names(pkg):
    return [res["name"] for res in resources(pkg)]


def test_every_table_serves_html_json_and_csv(site, pkg, conn):
    for name in table_names(pkg):
        count = conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        html = site(f"/nk_russia/{name}")
        assert html.status_code == 200, name
        data = site(f"/nk_russia/{name}.json?_shape=array&_size=max").json()
        assert len(data) == count, name
        rows = list(csv.DictReader(io.StringIO(site(f"/nk_russia/{name}.csv?_size=max").text)))
        assert len(rows) == count, name


def test_column_descriptions_are_served(site, pkg):
    html = site("/nk_russia/troop_estimates").text
    assert "Upper bound in soldiers" in html  # value_high's description from the schema


def test_facet_returns_counts(site, conn):
    data = site("/nk_russia/appearances.json?_facet=stance").json()
    facet = data["facet_results"]["stance"]
    expected = dict(conn.execute("SELECT stance, count(*) FROM appearances GROUP BY stance").fetchall())
    assert {r["value"]: r["count"] for r in facet["results"]} == expected


@pytest.mark.parametrize("table", ["claims", "appearances", "weapon_mentions", "claim_evidence", "sentences"])
def test_tables_that_grow_with_the_data_compute_no_default_facet(site, table):
    # each default facet is a GROUP BY over the whole table on every request to the table page
    assert site(f"/nk_russia/{table}.json").json()["facet_results"] == {}


def test_a_facet_asked_for_is_computed_once(site):
    data = site("/nk_russia/appearances.json?_facet=stance&_facet=speaker_id").json()
    assert sorted(data["facet_results"]) == ["speaker_id", "stance"]


def test_small_tables_keep_their_default_facets(site):
    assert sorted(site("/nk_russia/troop_estimates.json").json()["facet_results"]) == [
        "document_id", "estimator_id", "qualifier", "scope"]


def test_full_text_search_finds_a_known_phrase(site):
    rows = site("/nk_russia/appearances.json?_search=%22additional+1%2C500%22&_shape=array").json()
    assert rows and all("additional 1,500" in r["excerpt"] for r in rows)


def test_foreign_keys_show_labels(site):
    rows = site("/nk_russia/appearances.json?_labels=on&_shape=array&_size=1").json()
    assert isinstance(rows[0]["speaker_id"], dict) and rows[0]["speaker_id"]["label"]


def test_datasette_vega_is_loaded(site):
    plugins = {p["name"] for p in site("/-/plugins.json").json()}
    assert "datasette-vega" in plugins
    # on chart pages through the on-demand loader of plugins/nk_static.py, which names its script
    html = site("/nk_russia/troop_estimates").text
    loader = next(u for u in __import__("re").findall(r'src="(/-/nk/nk-chart-[^"]+)"', html))
    assert "/-/nk/vega-" in site(loader).text


def test_immutable_and_no_suggested_facets(site):
    dbs = site("/-/databases.json").json()
    assert [d["is_mutable"] for d in dbs if d["name"] == "nk_russia"] == [False]
    assert site("/-/settings.json").json()["suggest_facets"] is False


def test_the_database_is_memory_mapped(built):
    db = site_instance(built).get_database("nk_russia")
    size = asyncio.run(db.execute_fn(lambda conn: conn.execute("PRAGMA mmap_size").fetchone()[0]))
    assert size >= built["db"].stat().st_size
