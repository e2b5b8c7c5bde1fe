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
    assert "stance = denies" in page.locator(".nk-count-heading").inner_text() or "denies" in page.url
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
    citation = page.locator(".nk-cite").first.inner_text()
    assert f"/nk_russia/quotes/{row_id}" in citation and "version" in citation and "accessed" in citation
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.locator("button.nk-copy").first.click()
    assert page.evaluate("navigator.clipboard.readText()") == citation


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


def page_types(conn) -> list[str]:
    """One address of every kind of page a journalist opens, each fact table's first row and every canned query."""
    from .test_site import FACT_TABLES, canned_queries
    paths = ["/", "/nk_russia", "/nk_russia/appearances", "/nk_russia/appearances?_facet=stance&_facet=speaker_id",
             "/about", "/nk_russia/search?q=S-400"]
    paths += [f"/nk_russia/{t}/{conn.execute(f'SELECT min(id) FROM {t}').fetchone()[0]}" for t in FACT_TABLES]
    paths += [f"/nk_russia/claims/{conn.execute('SELECT claim_id FROM claim_evidence ORDER BY appearances DESC').fetchone()[0]}",
              f"/nk_russia/documents/{conn.execute('SELECT min(id) FROM documents').fetchone()[0]}"]
    return paths + [f"/nk_russia/{name}" for name in canned_queries() if name != "search"]


def test_every_page_type_has_no_serious_accessibility_violation_and_fits_a_phone(page, conn):
    """axe-core (pinned with axe-playwright-python) at desktop width; at 390 px the page never scrolls sideways
    (wide tables scroll inside their own box)."""
    from axe_playwright_python.sync_playwright import Axe
    axe = Axe()
    serious, overflowing = [], []
    for path in page_types(conn):
        page.set_viewport_size({"width": 1366, "height": 900})
        page.goto(page.base + path)
        page.wait_for_load_state("networkidle")
        for v in axe.run(page).response["violations"]:
            if v["impact"] in ("critical", "serious"):
                serious.append(f"{path}: {v['id']} at {[n['target'] for n in v['nodes']][:3]}")
        page.set_viewport_size({"width": 390, "height": 844})
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if width[0] > width[1]:
            overflowing.append(f"{path}: {width[0]} px wide at {width[1]} px")
    assert serious == []
    assert overflowing == []


def test_every_page_has_a_language_a_skip_link_and_a_title_in_words(page, conn):
    for path in ["/", "/nk_russia/denials", "/about", "/nk_russia/appearances"]:
        page.goto(page.base + path)
        assert page.get_attribute("html", "lang") == "en"
        assert "select " not in page.title().lower(), path
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        page.keyboard.press("Enter")
        assert page.evaluate("location.hash") == "#nk-main"


def test_document_highlights_are_reachable_by_keyboard_and_say_what_cites_them(page, conn):
    doc_id = conn.execute("SELECT min(id) FROM documents").fetchone()[0]
    page.goto(f"{page.base}/nk_russia/documents/{doc_id}")
    mark = page.locator(".nk-fulltext mark").first
    mark.focus()
    assert page.evaluate("document.activeElement.tagName") == "MARK"
    cited_by = page.evaluate("getComputedStyle(document.activeElement, '::after').content")
    assert "Cited by" in cited_by
    assert page.locator(".nk-kinds li").count() >= 2
    assert page.locator("table.rows-and-columns td.col-text").count() == 0


def test_query_page_answers_a_name_and_hides_the_sql_behind_one_click(page):
    page.goto(page.base + "/nk_russia/denials?denier=Russia")
    assert page.title().startswith("What did Russia (or anyone) deny?")
    assert page.locator("table.rows-and-columns tbody tr").count() > 0
    assert not page.locator("#sql-query").is_visible()
    page.click("text=Show the SQL behind this answer")
    assert page.locator("#sql-query").is_visible()
    page.select_option("#qp1", index=0)
    page.click(".nk-params input[type=submit]")
    page.wait_for_load_state()
    assert "denier=" in page.url and page.locator("table.rows-and-columns tbody tr").count() > 0
