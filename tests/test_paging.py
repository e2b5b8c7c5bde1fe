"""plugins/nk_paging.py: canned query pages show one page of rows; CSV and JSON keep every row."""
import csv
import io
import re
import sys
import urllib.parse
from pathlib import Path

import pytest

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "plugins"))
import nk_paging  # noqa: E402  (a Datasette plugin file, not a package module)

QUERY = "weapon_systems_by_status"  # reads a precomputed table; over a hundred rows in the generated build


def table_rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<td class="col-row">.*?href="([^"]+)"', body, flags=re.S)


P = nk_paging.PAGE_ROWS


@pytest.mark.parametrize("value, offset", [("", 0), (str(2 * P), 2 * P), (str(2 * P + P // 2), 2 * P), ("-5", 0), ("x", 0),
                                           ("99999999999", nk_paging.MAX_OFFSET)])
def test_offset_is_a_whole_page_within_bounds(value, offset):
    assert nk_paging.requested_offset({"_offset": value}) == offset


def test_both_page_forms_keep_the_querys_order():
    import sqlite3
    conn = sqlite3.connect(":memory:")
    sql = "with n(i) as (select 1 union all select i + 1 from n where i < 250)\nselect i from n order by i desc -- newest first\n;"
    for form in (nk_paging.limited_sql, nk_paging.wrapped_sql):
        assert [r[0] for r in conn.execute(form(sql, 200))] == list(range(50, 0, -1))
        assert [r[0] for r in conn.execute(form(sql, 100, rows=1))] == [150]


def test_a_query_with_a_limit_of_its_own_can_only_be_wrapped():
    import sqlite3
    conn = sqlite3.connect(":memory:")
    sql = "select value from json_each('[1,2,3,4,5]') order by value limit 4"
    with pytest.raises(sqlite3.OperationalError):
        conn.execute(nk_paging.limited_sql(sql, 0))
    assert [r[0] for r in conn.execute(nk_paging.wrapped_sql(sql, 2))] == [3, 4]


def test_pages_keep_the_querys_own_plan(generated_site):
    """A page is the query with a LIMIT of its own, not a subquery: SQLite keeps the plan the query was written for
    (document_contents: each branch of its UNION ALL through its document index) instead of reading the tables whole."""
    page = generated_site("/nk_russia/document_contents").text
    assert f"limit {nk_paging.PAGE_ROWS + 1} offset 0" in page and "select * from (" not in page


@pytest.mark.parametrize("path, args, name", [
    ("/nk_russia/denials", {}, "denials"), ("/nk_russia/denials.json", {}, None), ("/nk_russia/denials.csv", {}, None),
    ("/nk_russia/denials", {"_format": "json"}, None), ("/nk_russia", {}, None), ("/nk_russia/claims/x", {}, None)])
def test_only_html_pages_of_one_query_or_table_are_paged(path, args, name):
    assert nk_paging.html_query_name(path, args) == name


def test_links_keep_the_other_arguments():
    p = nk_paging.pager("/nk_russia/search", {"q": "S-400", "_offset": str(2 * P)}, 2 * P)
    assert p["previous"] == f"/nk_russia/search?q=S-400&_offset={P}"
    assert p["next"] == f"/nk_russia/search?q=S-400&_offset={3 * P}"
    first = nk_paging.pager("/nk_russia/search", {"q": "x"}, 0)
    assert first["previous"] is None and first["next"] == f"/nk_russia/search?q=x&_offset={P}"
    assert nk_paging.pager("/nk_russia/search", {"q": "x", "_offset": str(P)}, P)["previous"] == "/nk_russia/search?q=x"


def test_html_shows_one_page_in_the_querys_order_and_csv_json_every_row(generated_site):
    everything = generated_site(f"/nk_russia/{QUERY}.json?_shape=array").json()
    assert len(everything) > nk_paging.PAGE_ROWS  # the precondition of this test
    # JSON gives each row link absolute (plugins/nk_downloads.py) or as table/id: the page links its path.
    expected = [urllib.parse.urlsplit(r["row"]).path if "://" in r["row"] else f"/nk_russia/{r['row']}" for r in everything]
    seen, offset = [], 0
    while True:
        page = generated_site(f"/nk_russia/{QUERY}" + (f"?_offset={offset}" if offset else ""))
        assert page.status_code == 200
        rows = table_rows(page.text)
        assert len(rows) <= nk_paging.PAGE_ROWS
        seen += rows
        if 'rel="next"' not in page.text:
            break
        assert len(rows) == nk_paging.PAGE_ROWS
        offset += nk_paging.PAGE_ROWS
    assert seen == expected  # every row once, in order, across the pages
    assert f"Rows {offset + 1:,}–{len(expected):,}" in page.text
    # After the HTML pages, the downloads still hold every row: no page's SQL stayed in Datasette's metadata.
    assert len(generated_site(f"/nk_russia/{QUERY}.json?_shape=array").json()) == len(everything)
    downloaded = list(csv.DictReader(io.StringIO(generated_site(f"/nk_russia/{QUERY}.csv").text)))
    assert [r["row"] for r in downloaded] == [r["row"] for r in everything]


def test_a_short_query_has_no_pager_links(site):
    page = site("/nk_russia/troop_estimates_by_source")
    assert page.status_code == 200 and 'rel="next"' not in page.text and 'rel="prev"' not in page.text
    assert "Rows 1–" in page.text


def test_a_page_past_the_end_says_so_and_links_back(generated_site):
    page = generated_site(f"/nk_russia/{QUERY}?_offset=900000")
    assert page.status_code == 200 and "No rows after row 900,000" in page.text and 'rel="prev"' in page.text


def test_what_the_site_says_of_a_page_is_what_a_page_shows():
    """Any "N a page" in metadata.yml's texts (the search query's description said 100 after pages became 50)."""
    text = (ROOT / "metadata.yml").read_text(encoding="utf-8")
    said = [int(n.replace(",", "")) for n in re.findall(r"\b([\d,]+) (?:rows )?a page\b", text)]
    assert said and set(said) == {nk_paging.PAGE_ROWS}
