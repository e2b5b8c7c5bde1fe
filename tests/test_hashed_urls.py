"""The site as the deploy images serve it: datasette-hashed-urls moves the database to /nk_russia-<hash>/.

A real server (`scripts.serve --hashed-urls`, the images' command) against the plain one (`make serve`'s):
every page type answers the same under the hashed route — same status, same body and download headers once
the route and port are set aside — and carries the headers a CDN needs: a year on success, no-store on errors,
a day at most on redirects."""
import http.client
import importlib.metadata
import re
import urllib.parse
import os

import pytest

from scripts import serve

YEAR = "max-age=31536000, public"


def hashed_urls_installed() -> bool:
    name = serve.HASHED_URLS[0]
    try:
        return importlib.metadata.version(name) == serve.HASHED_URLS[1]
    except importlib.metadata.PackageNotFoundError:
        return any(d.version == serve.HASHED_URLS[1]
                   for d in importlib.metadata.distributions(name=name, path=[str(serve.HASHED_URLS_DIR)]))


@pytest.fixture(scope="module")
def hashed_server(built):
    if not hashed_urls_installed():
        message = f"{serve.HASHED_URLS[0]}=={serve.HASHED_URLS[1]} is not in {serve.HASHED_URLS_DIR}: run `make install`"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    with open(built["dir"] / "hashed-server.log", "wb") as log:
        proc, base = serve.start_site(built["db"], built["dir"] / "build", log, hashed_urls=True)
        yield base
        serve.stop(proc)


def get(base: str, path: str) -> tuple[int, dict, bytes]:
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def route(hashed_server) -> str:
    """The database's hashed route, from the redirect of its plain one."""
    status, headers, _ = get(hashed_server, "/nk_russia")
    assert status == 302
    assert re.fullmatch(r"/nk_russia-[0-9a-f]{7}", headers["location"])
    return headers["location"]


def under(route: str, path: str) -> str:
    return route + path[len("/nk_russia"):] if path.startswith("/nk_russia") else path


def comparable(body: bytes, base: str, route: str) -> bytes:
    """A body with what legitimately differs between the two servers set aside: the route, the port, timings."""
    body = body.replace(route.encode(), b"/nk_russia").replace(base.encode(), b"http://site")
    body = re.sub(rb'"query_ms": [0-9.e-]+', b"", body)
    return re.sub(rb"[0-9]+(\.[0-9]+)? ?ms", b"ms", body)


# Every page type: home, database, tables, rows (a fact, a claim, a document), the annotation renderer,
# canned queries (HTML and their streamed CSV and JSON, the search query among them), table and SQL
# downloads, the .excel link, a date facet on a partial date, full-text search, release pages, errors.
PAGES = ["/", "/about", "/nk_russia", "/nk_russia.json", "/nk_russia/claims", "/nk_russia/claims.json",
         "/nk_russia/claims.csv", "/nk_russia/appearances.csv?_size=5&_bom=1", "/nk_russia/appearances.json?_size=3",
         "/nk_russia/appearances.excel?_size=3", "/nk_russia/appearances/003-ap-01", "/nk_russia/appearances/003-ap-01.json",
         "/nk_russia/appearances/003-ap-01.jsonld", "/nk_russia/appearances.jsonld?_size=2",
         "/nk_russia/claims/kp-troops-in-russia", "/nk_russia/documents", "/nk_russia/actors",
         "/nk_russia/troop_estimates_by_source", "/nk_russia/troop_estimates_by_source.csv",
         "/nk_russia/troop_estimates_by_source.json?_shape=array", "/nk_russia/troop_estimates_by_source.excel",
         "/nk_russia/search?q=troops", "/nk_russia/search.csv?q=troops", "/nk_russia/search.json?q=troops",
         "/nk_russia/appearances?_facet_date=stated_start", "/nk_russia/appearances?_search=troops",
         "/nk_russia.csv?sql=select+1+as+a", "/nk_russia.json?sql=select+1", "/changes", "/changes.atom",
         "/nk_russia/claims/no-such-claim", "/nk_russia/no_such_table", "/nk_russia.json?sql=select+nonsense+from"]
DOWNLOAD_HEADERS = ("content-type", "content-disposition", "location")


@pytest.mark.parametrize("path", PAGES)
def test_each_page_type_behaves_as_on_the_plain_site(path, hashed_server, route, live_server):
    plain = get(live_server["url"], path)
    hashed = get(hashed_server, under(route, path))
    assert hashed[0] == plain[0], path
    for name in DOWNLOAD_HEADERS:
        assert (comparable((hashed[1].get(name) or "").encode(), hashed_server, route)
                == comparable((plain[1].get(name) or "").encode(), live_server["url"], "/nk_russia")), (path, name)
    ours, theirs = comparable(hashed[2], hashed_server, route), comparable(plain[2], live_server["url"], "/nk_russia")
    assert ours == theirs, (path, first_difference(ours, theirs))


def first_difference(a: bytes, b: bytes) -> tuple[bytes, bytes]:
    at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return a[max(0, at - 200):at + 200], b[max(0, at - 200):at + 200]


@pytest.mark.parametrize("path", PAGES)
def test_a_cdn_keeps_successes_for_a_year_errors_never_redirects_a_day_at_most(path, hashed_server, route):
    status, headers, _ = get(hashed_server, under(route, path))
    cache = headers.get("cache-control")
    if not path.startswith("/nk_russia"):
        assert cache != YEAR  # outside the database's route: not immutable, Datasette's own short ttl or none
    elif status == 200:
        assert cache == YEAR, path
    elif status >= 400:
        assert cache == "no-store", path
    else:
        age = re.search(r"max-age=(\d+)", cache or "")
        assert age is None or int(age[1]) <= 86_400, (path, cache)


def test_the_plain_route_redirects_briefly_to_the_hashed_one_with_its_query(hashed_server, route):
    status, headers, _ = get(hashed_server, "/nk_russia/claims.csv?_size=2")
    assert status == 302 and headers["location"] == f"{route}/claims.csv?_size=2"
    assert "31536000" not in headers.get("cache-control", "")
    assert get(hashed_server, "/nk_russia-0000000/claims")[1]["location"] == f"{route}/claims"  # an older deploy's hash


def test_downloads_under_the_hashed_route_are_named_quoted_files_with_lasting_links(hashed_server, route):
    status, headers, body = get(hashed_server, f"{route}/troop_estimates.csv?_size=3")
    assert status == 200 and headers["content-type"] == "text/csv; charset=utf-8"
    assert headers["content-disposition"] == 'attachment; filename="nk_russia-troop_estimates.csv"'
    lines = body.decode("utf-8").splitlines()
    assert all(line.startswith('"') and line.endswith('"') for line in lines)  # every field quoted
    status, headers, body = get(hashed_server, f"{route}/troop_estimates_by_source.csv")
    assert status == 200 and headers["content-disposition"] == 'attachment; filename="nk_russia-troop_estimates_by_source.csv"'
    links = re.findall(r'"(http://[^"]+/troop_estimates/[^"]+)"', body.decode("utf-8"))
    # A downloaded file outlives the deploy: its links name the database, which always leads to the current data.
    assert links and all(urllib.parse.urlsplit(link).path.startswith("/nk_russia/troop_estimates/") for link in links)
    status, headers, _ = get(hashed_server, f"{route}/appearances.excel?_size=3")
    assert status == 302 and headers["location"].startswith(f"{route}/appearances.csv?")


def test_retired_ids_redirect_within_the_hashed_route_and_removed_ones_are_gone(hashed_server, route, conn):
    merged = conn.execute("select id, table_name, replaced_by from retired_ids where coalesce(replaced_by, '') != '' limit 1").fetchone()
    removed = conn.execute("select id, table_name from retired_ids where coalesce(replaced_by, '') = '' limit 1").fetchone()
    status, headers, _ = get(hashed_server, f"{route}/{merged['table_name']}/{merged['id']}.json")
    assert status == 301 and headers["location"] == f"{route}/{merged['table_name']}/{merged['replaced_by']}.json"
    assert headers["cache-control"] == "max-age=86400"
    assert get(hashed_server, headers["location"])[0] == 200
    status, headers, body = get(hashed_server, f"{route}/{removed['table_name']}/{removed['id']}")
    assert status == 410 and headers["cache-control"] == "no-store" and removed["id"] in body.decode()


def test_citations_name_the_database_not_the_deploys_hash(hashed_server, route):
    page = get(hashed_server, f"{route}/appearances/003-ap-01")[2].decode()
    assert f"url = {{{hashed_server}/nk_russia/appearances/003-ap-01}}" in page
    assert f"{hashed_server}{route}/appearances/003-ap-01 " not in page


@pytest.mark.parametrize("path", ["/", "/about", "/nk_russia/claims/{claim}", "/nk_russia/appearances/003-ap-01", "/changes"])
def test_our_pages_link_straight_to_the_hashed_route_not_through_its_redirect(path, hashed_server, route, conn):
    claim = conn.execute("select id from claims order by id limit 1").fetchone()[0]
    status, _, body = get(hashed_server, under(route, path.format(claim=claim)))
    assert status == 200, path
    links = re.findall(r'(?:href|action|cite)="(/nk_russia[^"]*)"', body.decode("utf-8"))
    assert any(link.startswith(route + "/") for link in links), path  # the page links into the database at all
    # Downloads may pass the redirect: the tables' "Whole table" links are written by the build, before a deploy's hash.
    redirected = [link for link in links if not link.startswith(route) and not re.search(r"\.(db|csv|json)(\?|$)", link)]
    assert redirected == [], (path, redirected[:5])
