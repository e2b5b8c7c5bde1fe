"""The pages a journalist opens, in Debian's Chromium driven by Playwright, against a real server.

Under CI (CI=true) a missing browser is a failure, never a skip.
"""
import os
import shutil

import pytest

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    executable = shutil.which("chromium")
    if not executable:
        message = "Debian's chromium is not installed (.ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh page that records console errors and failed requests; the test fails on any."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    problems = []
    pg.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    pg.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    pg.base = live_server["url"]
    yield pg
    context.close()
    assert problems == []


def test_home_answers_in_one_screen(page, conn):
    page.goto(page.base + "/")
    assert page.locator("svg.nk-timeline circle").count() > 0
    figures = conn.execute("SELECT count(*) FROM troop_estimates WHERE scope != 'army_size'").fetchone()[0]
    assert page.locator("#troops tbody tr").count() == figures
    assert page.locator("#transfers li").count() > 0
    assert "denies" in page.locator("#denials + ul").inner_text()


def test_troop_question_reaches_the_source_sentence_in_one_click(page, conn):
    page.goto(page.base + "/")
    page.locator("#troops tbody tr a").first.click()
    page.wait_for_load_state()
    mark = page.locator(".nk-passage mark")
    assert mark.is_visible()
    assert mark.inner_text() in {r[0] for r in conn.execute("SELECT excerpt FROM troop_estimates")}


def test_faceted_table_filters_by_a_facet_value(page, conn):
    page.goto(page.base + "/nk_russia/appearances?_facet=stance")
    facet = page.locator('.facet-info[data-column="stance"] a', has_text="denies").first
    facet.click()
    page.wait_for_load_state()
    denials = conn.execute("SELECT count(*) FROM appearances WHERE stance = 'denies'").fetchone()[0]
    assert "stance = denies" in page.locator("h3").first.inner_text() or "denies" in page.url
    assert page.locator("table.rows-and-columns tbody tr").count() == denials


def test_search_from_the_home_page_highlights_matches(page):
    page.goto(page.base + "/")
    page.fill("#nk-q", "S-400")
    page.click(".nk-search input[type=submit]")
    page.wait_for_load_state()
    marks = page.locator("table.rows-and-columns mark")
    assert marks.count() > 0
    assert "S" in marks.first.inner_text()


def test_canned_query_chart_renders_from_the_link_fragment(page):
    page.goto(page.base + "/")
    page.click("text=Interactive chart")
    page.wait_for_selector(".vega-embed canvas, .vega-embed svg", timeout=15000)
    assert page.locator(".vega-embed canvas, .vega-embed svg").first.is_visible()


def test_table_chart_loads_on_demand(page):
    scripts = []
    page.on("request", lambda r: scripts.append(r.url) if "/-/nk/vega-" in r.url else None)
    page.goto(page.base + "/nk_russia/troop_estimates")
    assert scripts == []  # not loaded with the page
    page.click("button.nk-chart-button")
    page.wait_for_selector(".datasette-vega-active, .datasette-vega select", timeout=15000)
    assert len(scripts) == 2


def test_row_page_shows_highlighted_excerpt_and_citation(page, conn):
    row_id, excerpt = conn.execute("SELECT id, excerpt FROM quotes ORDER BY id LIMIT 1").fetchone()
    page.goto(f"{page.base}/nk_russia/quotes/{row_id}")
    assert page.locator(".nk-passage mark").inner_text() == excerpt
    citation = page.locator(".nk-cite").inner_text()
    assert f"/nk_russia/quotes/{row_id}" in citation and "version" in citation and "accessed" in citation


def test_document_page_highlights_and_links_cited_spans(page, conn):
    doc_id = "002_61d34c351b0ed7f4"
    page.goto(f"{page.base}/nk_russia/documents/{doc_id}")
    assert page.locator(".nk-fulltext mark").count() > 0
    links = page.locator(".nk-fulltext sup a")
    cited = sum(conn.execute(f"SELECT count(*) FROM {t} WHERE document_id = ?", [doc_id]).fetchone()[0]
                for t in ("appearances", "quotes", "weapon_mentions", "weapon_specs", "troop_estimates"))
    assert links.count() == cited
    links.first.click()
    page.wait_for_load_state()
    assert page.locator(".nk-passage mark").is_visible()
