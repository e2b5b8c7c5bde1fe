"""plugins/nk_search.py: matches are marked on pages only; every CSV and JSON export carries clean text; the search
query ranks by bm25 and takes in=<table>; a table searched alone redirects to it; searches are counted up to a cap."""
import collections
import csv
import html.parser
import re
import sys
import urllib.parse

import pytest
from datasette.utils import escape_fts, tilde_encode

from .conftest import ROOT, read_only

sys.path.insert(0, str(ROOT / "plugins"))
import nk_paging  # noqa: E402  (a Datasette plugin file, not a package module)

PRIVATE_USE = re.compile("[\ue000-\uf8ff]")


def plugin():
    import importlib.util
    spec = importlib.util.spec_from_file_location("nk_search_under_test", ROOT / "plugins" / "nk_search.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_marks_escape_the_text_and_short_words_match_whole():
    s = plugin()
    pattern = s.term_pattern(s.search_terms("q=" + urllib.parse.quote("S-400 <b>")))
    assert str(s.highlight("<b>sent S-400 systems</b>", pattern)) == \
        "&lt;<mark>b</mark>&gt;sent <mark>S</mark>-<mark>400</mark> systems&lt;/<mark>b</mark>&gt;"
    assert s.highlight("nothing", s.term_pattern(("zelensky",))) is None
    assert s.search_terms("_search=Zelensky+OR+Kim&_sort=id") == ("zelensky", "kim")


def test_search_page_marks_matches_at_render_time(site):
    page = site("/nk_russia/search?q=Zelensky").text
    assert "Zelenskyy</mark>" in page
    # a table page searched and sorted stays on Datasette's table view (searched alone, it redirects)
    table = site("/nk_russia/appearances?_search=Zelensky&_sort_desc=id").text
    assert "Zelenskyy</mark>" in table
    # another spelling of what was searched is marked whole
    assert "<mark>S-400" in site("/nk_russia/search?q=S400").text


def test_variant_phrases_are_the_searched_entitys_spellings():
    s = plugin()
    groups = [["S-400 long-range system", "S-400", "S400"], ["Kim Jong-un", "Kim Jong Un"]]
    assert s.variant_phrases("q=s400", groups) == ("S-400 long-range system", "S-400", "S400")
    assert s.variant_phrases("q=kim+jong+un+visit", groups) == ("Kim Jong-un", "Kim Jong Un")
    assert s.variant_phrases("q=kim", groups) == ()


def exported_paths(site):
    meta = site("/-/metadata.json").json()["databases"]["nk_russia"]
    tables = [t["name"] for t in site("/nk_russia.json").json()["tables"]]
    paths = [f"/nk_russia/{t}" for t in tables] + [f"/nk_russia/{q}" for q in meta["queries"]]
    paths += [f"/nk_russia/search?q={urllib.parse.quote(q)}" for q in ("S-400", "Zelensky", "North Korea", "fake news")]
    paths += ["/nk_russia/appearances?_search=Zelensky"]
    return paths


def test_no_export_carries_private_use_characters(site):
    for path in exported_paths(site):
        base, _, query = path.partition("?")
        for ext in (".csv", ".json"):
            url = f"{base}{ext}?{query + '&' if query else ''}_size=max"
            response = site(url)
            assert response.status_code == 200, url
            found = PRIVATE_USE.search(response.text)
            assert found is None, f"{url}: U+{ord(found.group(0)):04X}"


def test_database_page_does_not_list_the_search_plumbing(site):
    page = site("/nk_russia").text
    assert "_fts_source" not in page and "search_aliases" not in page
    assert "appearances_fts_source" in {v["name"] for v in site("/nk_russia.json").json()["views"]}  # still there


# ---- ranked search, redirect, capped counts (issue #12, point 4) --------------------------------

def fts_tables(conn) -> list[str]:
    return [r[0][:-4] for r in conn.execute("select name from sqlite_master where type = 'table' and name like '%\\_fts' "
                                            "escape '\\' and sql like 'CREATE VIRTUAL TABLE%fts5%' order by name")]


def bm25_order(conn, words: str, only: str = "") -> list[str]:
    """The matches of the words in every index (or in one; each index's first POOL by rowid), best bm25 first,
    ties by table then rowid: computed here table by table, apart from the search query's SQL."""
    found = []
    for table in fts_tables(conn):
        if only and table != only:
            continue
        matches = conn.execute(f"select ?, f.rowid, bm25({table}_fts), t.id from {table}_fts f join {table} t "
                               f"on t.rowid = f.rowid where {table}_fts match ? order by f.rowid",
                               [table, escape_fts(words.replace('"', " ").strip())]).fetchall()
        found += matches[:plugin().POOL]
    return [f"/nk_russia/{t}/{tilde_encode(i)}" for t, _, _, i in sorted(found, key=lambda r: (r[2], r[0], r[1]))]


def row_paths(rows: list[dict]) -> list[str]:
    return [urllib.parse.urlsplit(r["row"]).path if "://" in r["row"] else f"/nk_russia/{r['row']}" for r in rows]


def search_sql(build) -> str:
    """The search query as the build wrote it (the served metadata may hold a page of it: plugins/nk_paging.py)."""
    import json
    return json.loads(build["metadata"].read_text(encoding="utf-8"))["databases"]["nk_russia"]["queries"]["search"]["sql"]


@pytest.mark.parametrize("words, only", [("troops", ""), ("Korea", ""), ("S-400", ""), ("troops", "appearances"),
                                         ("Korea", "quotes"), ("fake news", "")])
def test_the_search_query_lists_matches_in_bm25_order(site, conn, words, only):
    expected = bm25_order(conn, words, only)
    assert expected, words  # a search that finds something
    rows = site(f"/nk_russia/search.json?_shape=array&_size=max&q={urllib.parse.quote(words)}&in={only}").json()
    assert row_paths(rows) == expected[:1000]
    # the page shows the first hundred of them, in that order
    page = site(f"/nk_russia/search?q={urllib.parse.quote(words)}&in={only}").text
    assert page_rows(page) == expected[:nk_paging.PAGE_ROWS]


def page_rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<td class="col-row">.*?href="([^"]+)"', body, flags=re.S)


def test_past_the_pool_the_first_matches_of_an_index_are_ranked_and_the_page_says_so(generated_site, generated_build):
    s = plugin()
    assert search_sql(generated_build).count(f"match term.m limit {s.POOL})") == 6  # it ranks what the plugin says
    conn = read_only(generated_build["db"])
    assert matches_of(conn, "Korea", ["appearances"]) > s.POOL  # the precondition
    expected = bm25_order(conn, "Korea", "appearances")
    assert len(expected) == s.POOL
    rows = generated_site("/nk_russia/search.json?_shape=array&_size=max&q=Korea&in=appearances").json()
    assert row_paths(rows) == expected
    page = generated_site("/nk_russia/search?q=Korea&in=appearances").text
    assert f"best first among the first {s.POOL:,} matches of appearances" in page


def test_the_search_query_offers_each_indexed_table(site, conn):
    page = site("/nk_russia/search?q=troops&in=quotes").text
    form = page.split('<form class="nk-params"', 1)[1].split("</form>", 1)[0]
    assert re.findall(r'<option value="([^"]*)"', form) == [""] + fts_tables(conn)
    assert '<option value="quotes" selected>' in form and '<label for="qp2">Search in</label>' in form


def traced(conn, sql: str, params: dict) -> list[str]:
    """Every statement SQLite runs for one query, the full-text indexes' own lookups included."""
    conn.create_function("escape_fts", 1, escape_fts)
    seen = []
    conn.set_trace_callback(seen.append)
    try:
        rows = conn.execute(sql, params).fetchall()
    finally:
        conn.set_trace_callback(None)
    return rows, seen


def test_a_restricted_search_looks_terms_up_in_its_index_only(built):
    conn = read_only(built["db"])
    rows, seen = traced(conn, search_sql(built), {"q": "troops", "in": "appearances"})
    looked_up = {m for s in seen for m in re.findall(r"'(\w+)_fts_idx' WHERE segid", s)}
    assert rows and looked_up == {"appearances"}
    _, seen = traced(conn, search_sql(built), {"q": "troops", "in": ""})
    assert {m for s in seen for m in re.findall(r"'(\w+)_fts_idx' WHERE segid", s)} == set(fts_tables(conn))


def test_a_page_reads_the_text_of_its_own_rows_only(generated_build):
    """Ranking reads the indexes only: the text (for snippets) is read for the page's rows, not every match."""
    conn = read_only(generated_build["db"])
    assert len(bm25_order(conn, "Korea", "appearances")) > 2 * nk_paging.PAGE_ROWS  # the precondition
    sql = nk_paging.limited_sql(search_sql(generated_build), nk_paging.PAGE_ROWS)
    rows, seen = traced(conn, sql, {"q": "Korea", "in": "appearances"})
    assert len(rows) == nk_paging.PAGE_ROWS
    texts_read = collections.Counter(m for s in seen for m in re.findall(r"FROM 'main'\.'(\w+)_fts_source'", s))
    assert texts_read == {"appearances": nk_paging.PAGE_ROWS}


@pytest.mark.parametrize("query, location", [
    ("_search=troops", "/nk_russia/search?q=troops&in=appearances"),
    # as the table page's form sends it: the unused sort list and filter row come along empty
    ("_search=troops&_sort=&_filter_column=&_filter_op=exact&_filter_value=", "/nk_russia/search?q=troops&in=appearances"),
    ("_search=" + urllib.parse.quote('S-400 "fake news" & co'), "/nk_russia/search?q=S-400+%22fake+news%22+%26+co&in=appearances"),
    ("_search=troops&_searchmode=escaped", "/nk_russia/search?q=troops&in=appearances"),
])
def test_a_table_page_searched_and_nothing_else_redirects_to_the_ranked_search(site, query, location):
    check_redirect(site, "/nk_russia/appearances?" + query, location)


class FormFields(html.parser.HTMLParser):
    """The fields a browser submits from one HTML form, in order: text and hidden inputs, checked boxes, and
    each select's selected option (else its first), by value (else text)."""

    def __init__(self):
        super().__init__()
        self.fields, self.select, self.options = [], None, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name") and (a.get("type") not in ("checkbox", "submit") or "checked" in a):
            self.fields.append((a["name"], a.get("value") or ""))
        elif tag == "select":
            self.select, self.options = a.get("name"), []
        elif tag == "option" and self.select:
            self.options.append([a.get("value"), "selected" in a, ""])

    def handle_data(self, data):
        if self.select and self.options:
            self.options[-1][2] += data

    def handle_endtag(self, tag):
        if tag == "select" and self.select:
            value, _, text = next((o for o in self.options if o[1]), self.options[0])
            self.fields.append((self.select, value if value is not None else text.strip()))
            self.select = None


@pytest.mark.parametrize("table", ["appearances", "troop_estimates", "documents"])
def test_the_table_pages_own_search_box_lands_on_the_ranked_search(site, table):
    form = site(f"/nk_russia/{table}").text.split('<form class="filters"', 1)[1].split("</form>", 1)[0]
    parser = FormFields()
    parser.feed(form)
    sent = [(k, "troops" if k == "_search" else v) for k, v in parser.fields]
    assert dict(sent).get("_sort")  # the precondition: the form sends the sort it shows, the table's default
    check_redirect(site, f"/nk_russia/{table}?" + urllib.parse.urlencode(sent), f"/nk_russia/search?q=troops&in={table}")


def check_redirect(site, path, location):
    response = site(path)
    assert response.status_code == 302 and response.headers["location"] == location
    assert 0 < s_max_age(response.headers["cache-control"]) <= 300
    followed = site(location)
    assert followed.status_code == 200
    if "troops" in location:
        table = location.rsplit("in=", 1)[1]
        assert page_rows(followed.text) and {p.split("/")[2] for p in page_rows(followed.text)} == {table}


def s_max_age(header: str) -> int:
    return int(re.search(r"max-age=(\d+)", header).group(1))


@pytest.mark.parametrize("path", [
    "/nk_russia/appearances?_search=troops&_sort=stance", "/nk_russia/appearances?_search=troops&_sort_desc=id",
    "/nk_russia/appearances?_search=troops&stance=asserts", "/nk_russia/appearances?_search=troops&_facet=stance",
    "/nk_russia/appearances?_search=troops&_filter_column_1=stance&_filter_op_1=exact&_filter_value_1=asserts",
    "/nk_russia/appearances?_search=troops&_searchmode=raw", "/nk_russia/appearances?_search=troops&_size=10",
    "/nk_russia/appearances.json?_search=troops", "/nk_russia/appearances.csv?_search=troops",
    "/nk_russia/appearances?_search=troops&_format=json", "/nk_russia/appearances?_search_excerpt=troops",
    "/nk_russia/appearances?_search=", "/nk_russia/actors?_search=troops"])
def test_other_searches_stay_on_the_table_view(site, path):
    response = site(path)
    # Datasette itself redirects a filter row sent by the form to its `column__op=value` form
    assert response.status_code == 200 or (response.status_code == 302 and f"/{SEARCH}?" not in response.headers["location"])


SEARCH = "search"


def test_json_keeps_datasettes_shape_without_counting_every_match(site, conn):
    plain = site("/nk_russia/appearances.json").json()
    searched = site("/nk_russia/appearances.json?_search=troops").json()
    assert set(searched) == set(plain) and searched["filtered_table_rows_count"] is None
    matches = [r[0] for r in conn.execute("select id from appearances where rowid in (select rowid from appearances_fts "
                                          "where appearances_fts match 'troops') order by id")]
    assert [r[0] for r in searched["rows"]] == matches[:len(searched["rows"])] and searched["rows"]
    array = site("/nk_russia/appearances.json?_search=troops&_shape=array&_size=max").json()
    assert [r["id"] for r in array] == matches


def matches_of(conn, words: str, tables: list[str]) -> int:
    return sum(conn.execute(f"select count(*) from {t}_fts where {t}_fts match ?", [escape_fts(words)]).fetchone()[0]
               for t in tables)


def test_counts_below_the_cap_are_exact_and_said_so(site, conn):
    s = plugin()
    everywhere = matches_of(conn, "troops", fts_tables(conn))
    assert 1 < everywhere <= s.COUNT_CAP
    assert f'<p class="nk-search-count">{everywhere:,} matches, best first.' in site("/nk_russia/search?q=troops").text
    in_quotes = matches_of(conn, "troops", ["quotes"])
    assert f"{in_quotes:,} match{'es' if in_quotes != 1 else ''} in quotes, best first." in site("/nk_russia/search?q=troops&in=quotes").text
    # a table page searched and filtered: the rows it selects, counted (Datasette's own count is skipped)
    filtered = conn.execute("select count(*) from appearances where stance = 'asserts' and rowid in "
                            "(select rowid from appearances_fts where appearances_fts match 'troops')").fetchone()[0]
    page = site("/nk_russia/appearances?_search=troops&stance=asserts").text
    assert f'<span class="nk-search-count">{filtered:,} rows</span>' in page


def test_counts_stop_at_the_cap_and_say_so(generated_site, generated_build):
    s = plugin()
    conn = read_only(generated_build["db"])
    assert matches_of(conn, "Korea", ["appearances"]) > s.COUNT_CAP  # the precondition
    assert f"More than {s.POOL:,} matches (counted no further)" in generated_site("/nk_russia/search?q=Korea").text
    assert f"More than {s.POOL:,} matches in appearances (counted no further)" in \
        generated_site("/nk_russia/search?q=Korea&in=appearances").text
    page = generated_site("/nk_russia/appearances?_search=Korea&_sort_desc=id").text
    assert f'<span class="nk-search-count">More than {s.COUNT_CAP:,} rows (counted no further)</span>' in page


def test_count_phrases_and_redirect_rules():
    s = plugin()
    assert s.count_phrase(1) == "1 match" and s.count_phrase(0) == "0 matches" and s.count_phrase(None) is None
    assert s.count_phrase(s.COUNT_CAP) == f"{s.COUNT_CAP:,} matches"
    assert s.count_phrase(s.COUNT_CAP + 1, "row", "rows") == f"More than {s.COUNT_CAP:,} rows (counted no further)"
    tables = {"appearances": "id"}
    assert s.ranked_search_location("/nk_russia-abc1234/appearances", "_search=x", tables) == \
        "/nk_russia-abc1234/search?q=x&in=appearances"
    assert s.ranked_search_location("/nk_russia/appearances", "_search=x&_sort=id", tables) is not None
    assert s.ranked_search_location("/nk_russia/appearances", "_search=x&_sort=id&_sort_by_desc=on", tables) is None
    assert s.ranked_search_location("/nk_russia/appearances", "_search=x&_sort=stance", tables) is None
    assert s.ranked_search_location("/nk_russia/appearances", "_search=x&_nocount=1", tables) is not None
    assert s.ranked_search_location("/nk_russia/appearances", "_search=x&_filter_column=stance&_filter_op=exact", tables) is None
    assert s.search_count_sentence({"claims": 2, "quotes": 1}) == "3 matches, best first."
    assert s.search_count_sentence({"quotes": 1}, "quotes") == "1 match in quotes, best first."
    assert s.search_count_sentence({"quotes": 0}, "quotes") == "No matches in quotes."
    assert s.search_count_sentence({"claims": 2, "weapon_mentions": s.POOL + 1}).startswith(
        f"More than {s.POOL:,} matches (counted no further), best first among the first {s.POOL:,} matches of weapon mentions")
    assert s.without_blank_search("/nk_russia/appearances", "_search=+&_sort=id") == "_sort=id"
    assert s.without_blank_search("/nk_russia/appearances", "_search=x") is None
    assert s.without_full_count("/nk_russia/appearances.json", "_search=x") == "_search=x&_nocount=1"
    assert s.without_full_count("/nk_russia/appearances.json", "_search=x&_nocount=1") is None
    assert s.without_full_count("/nk_russia/appearances", "stance=asserts") is None
    assert s.in_index_order("/nk_russia/appearances.json", "_search=x", tables) == "_search=x&_sort=rowid"
    assert s.in_index_order("/nk_russia-abc1234/appearances.csv", "_search=x", tables) == "_search=x&_sort=rowid"
    assert s.in_index_order("/nk_russia/appearances", "_search=x&stance=asserts", tables) is None  # HTML: sorted by id, as shown
    assert s.in_index_order("/nk_russia/appearances.json", "_search=x&_sort_desc=id", tables) is None
    assert s.in_index_order("/nk_russia/appearances.json", "stance=asserts", tables) is None
    assert s.in_index_order("/nk_russia/quotes.json", "_search=x", tables) is None  # not known to be sorted by its key


@pytest.mark.parametrize("table, words, facet", [("appearances", "troops", "stance"), ("claims", "Russia", "topic")])
def test_a_json_or_csv_table_search_walks_its_matches_in_key_order_page_after_page(generated_site, generated_build, table,
                                                                                   words, facet):
    with read_only(generated_build["db"]) as conn:
        matches = [r[0] for r in conn.execute(f"select id from {table} where rowid in (select rowid from {table}_fts "
                                              f"where {table}_fts match ?) order by id", [escape_fts(words)])]
    assert len(matches) > 100  # more than one page of matches
    url, seen = f"/nk_russia/{table}.json?_search={words}&_size=30", []
    while url:
        page = generated_site(url).json()
        seen += [row[0] for row in page["rows"]]
        assert page["next_url"] is None or "_sort=rowid" in page["next_url"]  # the build's load order: key order
        url = page["next_url"] and urllib.parse.urlsplit(page["next_url"])._replace(scheme="", netloc="").geturl()
    assert seen == matches
    csv_ids = [row[0] for row in csv.reader(generated_site(f"/nk_russia/{table}.csv?_search={words}&_size=max").text.splitlines()[1:])]
    assert csv_ids == matches[:len(csv_ids)] and csv_ids
    page = generated_site(f"/nk_russia/{table}?_search={words}&_facet={facet}")
    assert page.status_code == 200 and "rows-and-columns" in page.text  # the table view, not the ranked search
    assert "_sort=rowid" not in page.text  # an HTML page keeps the key as its sort
