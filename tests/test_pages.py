"""plugins/nk_pages.py: query pages that answer names, the codebook on the method page, lead columns."""
import pytest

import nk_pages
from markupsafe import escape

from .conftest import ROOT


def test_lead_order_puts_the_key_then_the_words_and_the_speaker_first():
    cols = ["id", "claim_id", "document_id", "speaker_id", "stance", "excerpt", "note"]
    order = nk_pages.lead_order(cols, "appearances")
    assert [cols[i] for i in order] == ["id", "excerpt", "speaker_id", "stance", "claim_id", "document_id", "note"]
    assert nk_pages.lead_order(cols, "actors") is None


def test_codebook_anchors_every_enumerated_value():
    from scripts.codebook import codebook_html
    html = codebook_html((ROOT / "data" / "CODEBOOK.md").read_text(encoding="utf-8"))
    assert 'id="weapon_mentions-status-hypothetical"' in html and 'id="appearances-stance-denies"' in html
    assert "<h1" not in html


def test_no_rows_message_says_why():
    labels = {"denier": "Who denied", "document": "Document"}
    assert "nothing matches who denied “Nobody”" in nk_pages.no_rows_message({"denier": "Nobody "}, labels)
    assert nk_pages.no_rows_message({"document": ""}, labels).startswith("Choose document")


@pytest.mark.parametrize("path, table", [
    ("/nk_russia/denials.json?_shape=array&denier=Russia", "appearances"),
    ("/nk_russia/denials.json?_shape=array&denier=RU-GOVERNMENT", "appearances"),
    ("/nk_russia/troop_estimates_by_source.json?_shape=array&scope=In%20Russia", "troop_estimates"),
    ("/nk_russia/actor_statements.json?_shape=array&actor=NIS", None),
])
def test_canned_queries_answer_the_names_a_journalist_types(site, path, table):
    rows = site(path).json()
    assert rows, path
    if table:
        assert all(f"{table}/" in r["row"] for r in rows)  # a path, or an absolute URL in exports


def test_document_contents_answers_a_document_number_and_never_defaults(site, conn):
    doc = conn.execute("SELECT id FROM documents WHERE id LIKE '001%'").fetchone()[0]
    rows = site("/nk_russia/document_contents.json?_shape=array&document=001").json()
    assert rows and {r["document_id"] for r in rows} == {doc}
    assert site("/nk_russia/document_contents.json?_shape=array").json() == []
    page = site("/nk_russia/document_contents").text
    assert "Choose document above" in page


def test_scope_filter_returns_exactly_the_rows_of_that_scope(site, conn):
    rows = site("/nk_russia/troop_estimates_by_source.json?_shape=array&scope=in%20russia").json()
    expected = conn.execute("SELECT count(*) FROM troop_estimates WHERE scope = 'in_russia'").fetchone()[0]
    assert len(rows) == expected and {r["counts"] for r in rows} == {"in Russia"}


def test_query_page_offers_a_labelled_list_and_explains_an_empty_answer(site):
    page = site("/nk_russia/denials?denier=Nobody").text
    assert '<label for="qp1">Who denied</label>' in page and "<select" in page
    assert "No rows, because nothing matches who denied “Nobody”" in page
    assert "<title>What did Russia (or anyone) deny?" in page
    assert "<details class=\"nk-sql\">" in page


def test_method_page_renders_the_codebook_and_how_to_report_an_error(site):
    page = site("/about").text
    for anchor in ("report", "corrections", "limits", "codebook", "glossary"):
        assert f'id="{anchor}"' in page
    assert 'id="weapon_mentions-status-hypothetical"' in page
    assert '<html lang="en">' in page and 'href="/about#report"' in page


def test_home_links_every_status_word_to_its_meaning(site, conn):
    page = site("/").text
    for (statuses,) in conn.execute("SELECT statuses FROM transfer_summary"):
        for status in statuses.split(", "):
            assert f'href="/about#weapon_mentions-status-{status}"' in page
    assert "char_start" not in page and "reported_by" not in page
    assert '<section class="nk-summary"' in page


def test_table_page_folds_column_notes_and_leads_with_the_excerpt(site):
    page = site("/nk_russia/appearances").text
    assert '<details class="nk-column-notes">' in page
    head = page[page.index("<thead>"):page.index("</thead>")]
    assert head.index('data-column="excerpt"') < head.index('data-column="claim_id"')


def test_home_chart_leaves_increments_out_and_reads_open_dates_as_or_later(site, conn):
    page = site("/").text
    chart = page[page.index('<svg class="nk-timeline"'):page.index("</svg>")]
    plotted = conn.execute("SELECT count(*) FROM troop_estimates WHERE scope != 'army_size' "
                           "AND qualifier NOT IN ('additional', 'unquantified')").fetchone()[0]
    assert chart.count("<g><title>") == plotted
    for (wording,) in conn.execute("SELECT original_wording FROM troop_estimates WHERE qualifier = 'additional'"):
        assert str(escape(wording)) not in chart
        assert f"“{escape(wording)}”" in page[page.index("</svg>"):]  # named as an increment under the chart
    if conn.execute("SELECT 1 FROM troop_estimates WHERE as_of_precision = 'range' AND as_of_end IS NULL "
                    "AND scope != 'army_size'").fetchone():
        assert ">or later</tspan>" in chart
    assert ">Soldiers</text>" in chart and "As-of date" in chart


def test_home_has_no_column_empty_on_every_row(site, conn):
    page = site("/").text
    troops = page[page.index('<section id="troops">'):]
    carried = conn.execute("SELECT count(*) FROM troop_estimates WHERE reported_by_id IS NOT NULL AND scope != 'army_size'").fetchone()[0]
    assert ("<th>Carried by</th>" in troops) == bool(carried)


def test_document_contents_reads_each_fact_table_through_its_document_index(conn):
    """SQLite does not push the document filter into a UNION ALL under a join: each branch filters itself,
    or the page reads every row of five tables (seconds at a million rows)."""
    import yaml
    sql = yaml.safe_load((ROOT / "metadata.yml").read_text(encoding="utf-8"))["databases"]["nk_russia"]["queries"]["document_contents"]["sql"]
    plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, {"document": "001"})]
    for alias, table in (("a", "appearances"), ("q", "quotes"), ("m", "weapon_mentions"), ("p", "weapon_specs"), ("t", "troop_estimates")):
        assert f"SEARCH {alias} USING INDEX idx_{table}_document_id (document_id=?)" in plan, plan
    by_label = conn.execute(sql, {"document": "Pentagon confirms"}).fetchall()
    assert by_label and {r[4] for r in by_label} == {conn.execute("SELECT id FROM documents WHERE label LIKE 'Pentagon confirms%'").fetchone()[0]}


def test_a_parameter_with_more_choices_than_fit_a_list_becomes_a_text_box(tmp_path):
    """A fixture database (not news) with more actors than MAX_CHOICES, served by a real Datasette."""
    import asyncio
    import sqlite3
    from datasette.app import Datasette
    db = tmp_path / "nk_russia.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE actors (id TEXT PRIMARY KEY, name TEXT)")
        c.executemany("INSERT INTO actors VALUES (?, ?)", [(f"fixture-{i}", f"Fixture actor {i:04d}") for i in range(nk_pages.MAX_CHOICES + 1)])
    ds = Datasette([str(db)])
    assert asyncio.run(nk_pages.param_choices(ds, ["actor", "q"])) == {"actor": None}
    with sqlite3.connect(db) as c:
        c.execute("DELETE FROM actors WHERE id = 'fixture-0'")
    fewer = Datasette([str(db)])
    (choices,) = asyncio.run(nk_pages.param_choices(fewer, ["actor"])).values()
    assert len(choices) == nk_pages.MAX_CHOICES and choices[0] == {"value": "Fixture actor 0001", "label": "Fixture actor 0001"}


def test_a_row_page_shows_the_licence_whether_or_not_its_table_page_was_served_first(built):
    import asyncio
    from .conftest import site_instance
    ds = site_instance(built)

    async def pages():
        await ds.invoke_startup()
        first = (await ds.client.get("/nk_russia/appearances/000-ap-01")).text
        await ds.client.get("/nk_russia/appearances")
        again = (await ds.client.get("/nk_russia/appearances/000-ap-01")).text
        return first, again
    first, again = asyncio.run(pages())
    assert "Data license:" in first and "Data license:" in again


def test_a_sync_include_renders_what_an_include_would_and_needs_no_event_loop():
    import asyncio
    from jinja2 import DictLoader, Environment
    env = Environment(loader=DictLoader({
        "cells.html": "{% for v in values %}<td class='{{ css }}'>{{ v }}</td>{% endfor %}{{ 'x'|later }}",
        "included.html": "{% set css = 'col-a' %}{% include 'cells.html' %}",
        "synced.html": "{{ nk_sync_include(['missing.html', 'cells.html'], css='col-a') }}",
        "named.html": "{{ nk_sync_include('cells.html', css='col-a') }}"}), autoescape=True, enable_async=True)
    env.globals["nk_sync_include"] = nk_pages.sync_include(env)
    env.filters["later"] = str.upper  # a filter registered after the twin is made is the twin's too
    context = {"values": ["<b>", 1]}
    included, synced, named = (asyncio.run(env.get_template(t).render_async(context))
                               for t in ("included.html", "synced.html", "named.html"))
    assert synced == named == included == "<td class='col-a'>&lt;b&gt;</td><td class='col-a'>1</td>X"
