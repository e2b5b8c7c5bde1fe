"""scripts/facets.py and plugins/nk_facets.py: default facets counted by the build, served exactly."""
import asyncio
import sqlite3
import sys
import urllib.parse

import pytest

from scripts import facets
from .conftest import ROOT, read_only, site_instance

sys.path.insert(0, str(ROOT / "plugins"))
import nk_facets  # noqa: E402  (a Datasette plugin file, not a package module)

FACET_SIZE = 30  # Datasette's default_facet_size (settings.json leaves it)


@pytest.fixture(scope="module")
def generated_site(generated_build):
    ds = site_instance(generated_build)
    loop = asyncio.new_event_loop()
    yield lambda path: loop.run_until_complete(ds.client.get(path)).json()
    loop.close()


def group_by(conn, table: str, column: str, where: str = "", params=()) -> tuple[list, bool]:
    """Datasette's own facet query: values and counts, most first, and whether more values exist."""
    rows = conn.execute(f"select {column}, count(*) from {table} where {column} is not null {where} "
                        f"group by {column} order by count(*) desc, {column} limit {FACET_SIZE + 1}", params).fetchall()
    return [tuple(r) for r in rows[:FACET_SIZE]], len(rows) > FACET_SIZE


def shown(facet: dict) -> tuple[list, bool]:
    return [(r["value"], r["count"]) for r in facet["results"]], facet["truncated"]


def test_count_sets_are_each_facet_unfiltered_and_under_each_facet_column():
    sets = facets.count_sets({"t": ["a", "b"]})
    assert sets == [("t", "a", ""), ("t", "a", "a"), ("t", "a", "b"), ("t", "b", ""), ("t", "b", "a"), ("t", "b", "b")]


def test_default_facets_are_the_plain_column_facets_of_metadata():
    meta = {"databases": {"nk_russia": {"tables": {"t": {"facets": ["a", {"array": "tags"}, "b"]}, "u": {"sort": "id"}}}}}
    assert facets.default_facets(meta) == {"t": ["a", "b"]}


@pytest.mark.parametrize("query, expected", [
    ("", ("", "")), ("_sort=id&_facet=stance&_size=10", ("", "")), ("stance=denies", ("stance", "denies")),
    ("stance__exact=denies&_labels=on", ("stance", "denies")), ("stance=denies&speaker_id=x", None),
    ("stance__not=denies", None), ("_search=troops", None), ("_where=1", None), ("stance=a&stance=b", None),
    ("_facet_size=max", ("", ""))])
def test_only_no_filter_or_one_equality_filter_can_use_the_counts(query, expected):
    assert nk_facets.the_one_filter(urllib.parse.parse_qsl(query, keep_blank_values=True)) == expected


def test_every_count_set_equals_datasettes_group_by(generated_build):
    """Each kept set, for every filter value, is exactly what Datasette's GROUP BY gives, in its order."""
    conn = read_only(generated_build["db"])
    sets = conn.execute(f"select set_id, table_name, facet, filter_column, kept from {facets.SETS_TABLE}").fetchall()
    assert {s["table_name"] for s in sets} >= {"appearances", "claims", "weapon_mentions", "quotes", "troop_estimates"}
    for s in sets:
        table, column, flt = s["table_name"], s["facet"], s["filter_column"]
        values = [""] if not flt else [r[0] for r in conn.execute(
            f"select distinct cast({flt} as text) from {table} where {flt} is not null")]
        for value in values:
            kept = conn.execute(f"select value, count from {facets.COUNTS_TABLE} where set_id = ? and filter_value = ? "
                                "order by rank", (s["set_id"], value)).fetchall()
            where, params = (f"and {flt} = ?", [value]) if flt else ("", [])
            rows = conn.execute(f"select {column}, count(*) from {table} where {column} is not null {where} "
                                f"group by {column} order by count(*) desc, {column} limit {s['kept']}", params).fetchall()
            assert [tuple(r) for r in kept] == [tuple(r) for r in rows], (table, column, flt, value)


@pytest.mark.parametrize("table", ["appearances", "claims", "weapon_mentions", "claim_evidence"])
def test_tables_that_grow_have_default_facets_read_from_the_counts(generated_site, generated_build, table):
    conn = read_only(generated_build["db"])
    data = generated_site(f"/nk_russia/{table}.json")
    assert data["facet_results"]
    for name, facet in data["facet_results"].items():
        assert facet.get("precomputed") is True, name
        assert shown(facet) == group_by(conn, table, name)


def test_one_filter_reads_the_counts_and_stays_exact(generated_site, generated_build):
    conn = read_only(generated_build["db"])
    speaker = conn.execute("select speaker_id from appearances group by 1 order by count(*) desc limit 1").fetchone()[0]
    for arg, value in (("stance", "denies"), ("speaker_id", speaker), ("document_id", "no-such-document")):
        data = generated_site(f"/nk_russia/appearances.json?{arg}={urllib.parse.quote(value)}")
        for name, facet in data["facet_results"].items():
            assert facet["precomputed"] is True
            assert shown(facet) == group_by(conn, "appearances", name, f"and {arg} = ?", [value]), (arg, name)


@pytest.mark.parametrize("query, where, params", [
    ("_search=troops", "and rowid in (select rowid from appearances_fts where appearances_fts match 'troops')", []),
    ("stance__not=denies", "and stance != ?", ["denies"]),
    ("stance=denies&document_id__gt=0", "and stance = ? and document_id > ?", ["denies", "0"])])
def test_other_filters_are_counted_by_datasette(generated_site, generated_build, query, where, params):
    conn = read_only(generated_build["db"])
    data = generated_site(f"/nk_russia/appearances.json?{query}")
    assert data["facet_results"]
    for name, facet in data["facet_results"].items():
        assert "precomputed" not in facet
        assert shown(facet) == group_by(conn, "appearances", name, where, params), name


def test_a_larger_facet_size_than_kept_is_counted_by_datasette(generated_site):
    data = generated_site("/nk_russia/appearances.json?_facet_size=max")
    assert all("precomputed" not in f for f in data["facet_results"].values())


def test_a_facet_asked_for_again_is_counted_once(generated_site):
    data = generated_site("/nk_russia/appearances.json?_facet=stance&_facet=reported_by_id")
    assert sorted(data["facet_results"]) == ["document_id", "reported_by_id", "speaker_id", "stance"]
    assert "precomputed" not in data["facet_results"]["reported_by_id"]  # not a default facet: Datasette counts it


def loaded_plugin():
    """The nk_facets module Datasette loaded from plugins/ (not this test's own import of the file)."""
    from datasette.plugins import pm
    return next(p for p in pm.get_plugins() if getattr(p, "__file__", "") == str(ROOT / "plugins" / "nk_facets.py"))


def test_a_broad_search_reports_its_default_facets_as_not_computed(generated_build):
    conn = read_only(generated_build["db"])
    matches = conn.execute("select count(*) from appearances_fts where appearances_fts match 'troops'").fetchone()[0]
    ds = site_instance(generated_build)
    plugin = loaded_plugin()
    kept = plugin.SEARCH_FACET_MATCHES
    loop = asyncio.new_event_loop()
    try:
        plugin.SEARCH_FACET_MATCHES = matches - 1  # as a common word is at a million rows
        # sorted: a table page searched and nothing else redirects to the ranked search (plugins/nk_search.py)
        broad = loop.run_until_complete(ds.client.get("/nk_russia/appearances?_search=troops&_sort_desc=id")).text
        broad_json = loop.run_until_complete(ds.client.get("/nk_russia/appearances.json?_search=troops")).json()
        plugin.SEARCH_FACET_MATCHES = matches
        narrow = loop.run_until_complete(ds.client.get("/nk_russia/appearances.json?_search=troops")).json()
    finally:
        plugin.SEARCH_FACET_MATCHES = kept
        loop.close()
    assert "<html" in broad  # the page itself still renders
    # a search is not counted in full (plugins/nk_search.py): the JSON keeps the key, without the number
    assert broad_json["facet_results"] == {} and broad_json["filtered_table_rows_count"] is None
    assert sorted(narrow["facet_results"]) == ["document_id", "speaker_id", "stance"]


def test_precomputed_toggle_urls_are_the_ones_datasette_writes(generated_site):
    """The counts' facet links (an origin worked out once, then each value's path) against Datasette's own
    GROUP BY facet on the same page with a filter it counts itself (so the values and their links agree)."""
    ours = generated_site("/nk_russia/appearances.json?stance=denies")["facet_results"]["speaker_id"]
    stock = generated_site("/nk_russia/appearances.json?stance=denies&_facet_size=max")["facet_results"]["speaker_id"]
    assert ours["precomputed"] is True and "precomputed" not in stock
    stock_links = {r["value"]: r["toggle_url"].replace("&_facet_size=max", "") for r in stock["results"]}
    assert ours["results"] and all(r["toggle_url"].startswith("http://localhost/nk_russia/appearances.json?stance=denies&speaker_id=") for r in ours["results"])
    assert {r["value"]: r["toggle_url"] for r in ours["results"]} == {v: stock_links[v] for v in (r["value"] for r in ours["results"])}
