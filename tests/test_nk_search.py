"""plugins/nk_search.py: matches are marked on pages only; every CSV and JSON export carries clean text."""
import re
import urllib.parse

import pytest

from .conftest import ROOT

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
    table = site("/nk_russia/appearances?_search=Zelensky").text
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
