"""A real Datasette process on 127.0.0.1 under abuse: bounded queries, no writes, inert payloads."""
import json
import shutil
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from bench.run import status_of

from .conftest import ROOT



def fetch(base: str, path: str, method: str = "GET", data: bytes | None = None, timeout: float = 10):
    """(status, body, seconds) for one request; HTTP errors are answers, not exceptions."""
    request = urllib.request.Request(base + path, method=method, data=data)
    start = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace"), time.monotonic() - start
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace"), time.monotonic() - start


def sql(base: str, query: str):
    return fetch(base, "/nk_russia.json?sql=" + urllib.parse.quote(query))


def rss_kib(pid: int) -> int:
    """Resident memory of the server: its supervisor and every worker process."""
    from scripts.serve import process_tree
    total = 0
    for member in process_tree(pid):
        with open(f"/proc/{member}/status") as f:
            total += next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
    return total


def test_oversized_blob_is_refused_fast_with_bounded_memory(live_server):
    before = rss_kib(live_server["process"].pid)
    status, body, seconds = sql(live_server["url"], "select length(randomblob(1000000000))")
    assert status == 400 and "too big" in json.loads(body)["error"]
    assert seconds < 5
    assert rss_kib(live_server["process"].pid) - before < 100 * 1024  # far below the gigabyte asked for


def test_runaway_recursive_query_is_stopped_and_the_site_stays_up(live_server):
    runaway = "with recursive r(i) as (select 1 union all select i + 1 from r) select count(*) from r"
    status, body, seconds = sql(live_server["url"], runaway)
    assert status == 400 and "too long" in json.loads(body)["error"].lower()
    assert seconds < 10
    status, _, seconds = fetch(live_server["url"], "/nk_russia/appearances")
    assert status == 200 and seconds < 1.5


@pytest.mark.parametrize("statement", [
    "insert into claims (id, claim, topic) values ('x', 'x', 'diplomacy')",
    "update claims set claim = 'x'",
    "delete from claims",
    "drop table claims",
    "attach database '/tmp/evil.db' as evil",
    "pragma writable_schema = 1",
    "pragma journal_mode = wal",
    "select load_extension('/tmp/evil')",
    "vacuum into '/tmp/copy.db'",
])
def test_writes_attach_pragmas_and_extensions_are_refused(live_server, statement):
    status, body, _ = sql(live_server["url"], statement)
    assert status >= 400, body[:200]
    status, body, _ = sql(live_server["url"], "select count(*) as n from claims")
    assert status == 200


def test_there_is_no_writable_endpoint(live_server):
    for path in ["/nk_russia/claims", "/nk_russia/claims/-/insert", "/nk_russia/-/create", "/nk_russia.json"]:
        status, _, _ = fetch(live_server["url"], path, method="POST", data=b"{}")
        assert status >= 400, path


@pytest.mark.parametrize("path", [
    "/static/../settings.json", "/static/%2e%2e/settings.json", "/static/..%2fsettings.json",
    "/-/static/../../../etc/passwd", "/-/static-plugins/datasette_vega/../../../../etc/passwd",
    "/static/%2e%2e/%2e%2e/etc/passwd", "/about/../../etc/passwd", "/..%2f..%2fetc%2fpasswd",
])
def test_path_traversal_is_refused(live_server, path):
    status, body, _ = fetch(live_server["url"], path)
    assert "root:x:0:0" not in body and '"suggest_facets"' not in body
    assert status in (200, 404, 400) and (status != 200 or "<html" in body.lower())


def test_security_headers_and_robots(live_server):
    with urllib.request.urlopen(live_server["url"] + "/") as r:
        headers = {k.lower(): v for k, v in r.headers.items()}
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"]
    status, robots, _ = fetch(live_server["url"], "/robots.txt")
    assert status == 200 and "Disallow: /*sql=" in robots and "Disallow: /*.csv" in robots


# ---- a script payload stored in the data stays inert ----

PAYLOAD = '<script>alert("xss")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def payload_server(built, tmp_path_factory):
    """The built site, with a script payload written into a claim behind the build's back."""
    from scripts import publish
    from scripts.schema import load_package
    from scripts.serve import start_site, stop
    from .conftest import DATA, ROOT
    folder = tmp_path_factory.mktemp("payload")
    db = folder / "nk_russia.db"
    shutil.copy(built["db"], db)
    with sqlite3.connect(db) as c:
        c.execute("UPDATE claims SET claim = ? WHERE id = 'kp-troops-in-russia'", [PAYLOAD])
    build_dir = folder / "build"
    publish.write_metadata(ROOT / "metadata.yml", load_package(DATA / "datapackage.json"), build_dir / "metadata.json")
    publish.write_inspect(db, build_dir / "inspect.json")
    proc, base = start_site(db, build_dir)
    yield base
    stop(proc)


def test_payload_is_escaped_in_html_json_and_csv(payload_server):
    for path in ["/nk_russia/claims/kp-troops-in-russia", "/nk_russia/claims", "/nk_russia/appearances/003-ap-01", "/"]:
        status, body, _ = fetch(payload_server, path)
        assert status == 200 and "<script>alert" not in body and "<img src=x" not in body, path
    status, body, _ = fetch(payload_server, "/nk_russia/claims.json?id=kp-troops-in-russia&_shape=array")
    assert json.loads(body)[0]["claim"] == PAYLOAD  # data is returned as data, in a JSON string
    status, body, _ = fetch(payload_server, "/nk_russia/claims.csv?id=kp-troops-in-russia")
    assert PAYLOAD.replace('"', '""') in body


def test_payload_does_not_run_in_chromium(payload_server):
    executable = shutil.which("chromium")
    if not executable:
        pytest.skip("chromium not installed") if not __import__("os").environ.get("CI") else pytest.fail("chromium missing")
    from playwright.sync_api import sync_playwright
    from .test_browser import CHROMIUM_ARGS
    dialogs = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        for path in ["/nk_russia/claims/kp-troops-in-russia", "/nk_russia/claims", "/nk_russia/appearances/003-ap-01", "/"]:
            page.goto(payload_server + path)
            page.wait_for_timeout(300)
        browser.close()
    assert dialogs == []


# ---- only successful responses may be cached for long (the deploy images' CDN headers) ----

class YearLongCacheOnEveryResponse:
    """Stand-in for datasette-hashed-urls, which is installed in the deploy images only: like it, this
    marks every response `max-age=31536000, public`, whatever its status."""
    __name__ = "year-long-cache-stand-in"  # Datasette lists plugins by module name
    from datasette import hookimpl

    @hookimpl
    def asgi_wrapper(self, datasette):
        def wrap(app):
            async def year_long(scope, receive, send):
                async def send_cached(event):
                    if event["type"] == "http.response.start":
                        headers = [h for h in event.get("headers", []) if h[0].lower() != b"cache-control"]
                        event = dict(event, headers=headers + [(b"cache-control", b"max-age=31536000, public")])
                    await send(event)
                await app(scope, receive, send_cached)
            return year_long
        return wrap


def test_errors_are_never_cached_even_behind_hashed_urls(built):
    import asyncio
    from datasette.plugins import pm
    from .conftest import site_instance
    pm.register(YearLongCacheOnEveryResponse(), name="year-long-cache-stand-in")
    try:
        ds = site_instance(built)
        loop = asyncio.new_event_loop()
        try:
            ok = loop.run_until_complete(ds.client.get("/nk_russia/claims"))
            missing = loop.run_until_complete(ds.client.get("/nk_russia/claims/no-such-claim"))
            bad_sql = loop.run_until_complete(ds.client.get("/nk_russia.json?sql=select+nonsense+from"))
        finally:
            loop.close()
    finally:
        pm.unregister(name="year-long-cache-stand-in")
    assert ok.status_code == 200 and ok.headers["cache-control"] == "max-age=31536000, public"
    for response in (missing, bad_sql):
        assert response.status_code >= 400
        assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("status, given, sent", [
    (200, b"max-age=31536000, public", b"max-age=31536000, public"),
    (404, b"max-age=31536000, public", b"no-store"), (500, None, b"no-store"),
    (301, b"max-age=86400", b"max-age=86400"), (302, None, None),
    (301, b"max-age=31536000, public", b"max-age=86400")])
def test_only_success_is_cached_for_long(status, given, sent):
    import importlib.util
    from .conftest import ROOT
    spec = importlib.util.spec_from_file_location("nk_hardening_for_test", ROOT / "plugins" / "nk_hardening.py")
    hardening = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hardening)
    headers = [(b"content-type", b"text/html")] + ([(b"cache-control", given)] if given else [])
    out = dict(hardening.cacheable_only_if_ok(status, headers))
    assert out.get(b"cache-control") == sent


def test_a_missing_page_is_answered_without_printing_a_traceback(live_server, built):
    """Datasette prints each error as a rich traceback with every frame's locals (a second of CPU per 404);
    client errors print nothing now, server errors a plain traceback."""
    log = built["dir"] / "server.log"
    before = log.read_text(errors="replace")
    status, body, _ = fetch(live_server["url"], "/nk_russia/claims/no-such-claim-for-the-log-test")
    assert status == 404 and "not found" in body.lower()
    status, _, _ = fetch(live_server["url"], "/nk_russia/claims?_sort=no_such_column_for_the_log_test")
    assert status == 500
    for _ in range(50):  # the worker writes its log line after the response
        added = log.read_text(errors="replace")[len(before):]
        if "no_such_column_for_the_log_test" in added and "Traceback" in added:
            break
        time.sleep(0.1)
    assert "no-such-claim-for-the-log-test" in added  # uvicorn's access line: the log is the one being read
    assert added.count("Traceback") == 1 and "Cannot sort table by no_such_column_for_the_log_test" in added
    assert "locals" not in added and "╭" not in added  # no rich panel


@pytest.mark.parametrize("path", ["/", "/about", "/changes", "/changes.atom", "/nk_russia/claims.csv",
                                  "/nk_russia/claims.csv?_stream=on", "/nk_russia/contested_claims.csv"])
def test_our_pages_outside_the_database_and_csv_downloads_are_cached_as_its_pages_are(live_server, path):
    ttl = json.loads((ROOT / "settings.json").read_text())["default_cache_ttl"]
    assert status_of(live_server["url"], path) == (200, f"max-age={ttl}")
    assert status_of(live_server["url"], "/nk_russia/claims") == (200, f"max-age={ttl}")  # as the data pages
    assert status_of(live_server["url"], "/no-such-page") == (404, "no-store")
    assert status_of(live_server["url"], "/nk_russia/no_such_table.csv") == (404, "no-store")
