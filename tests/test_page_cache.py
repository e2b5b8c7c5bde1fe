"""plugins/nk_page_cache.py: the database page is rendered once per process and served again from memory."""
import sys

import pytest

from .conftest import ROOT, site_instance

sys.path.insert(0, str(ROOT / "plugins"))
import nk_page_cache  # noqa: E402  (a Datasette plugin file, not a package module)


def scope(path="/nk_russia", query=b"", method="GET", host=b"example.org"):
    return {"type": "http", "method": method, "path": path, "query_string": query, "scheme": "https",
            "headers": [(b"host", host)]}


@pytest.mark.parametrize("s, database_path, cached", [
    (scope(), "/nk_russia", True), (scope(path="/nk_russia-1a2b3c4"), "/nk_russia-1a2b3c4", True),
    (scope(), "/nk_russia-1a2b3c4", False), (scope(path="/nk_russia-other"), "/nk_russia", False),
    (scope(query=b"sql=select+1"), "/nk_russia", False), (scope(method="POST"), "/nk_russia", False),
    (scope(path="/nk_russia/claims"), "/nk_russia", False), (scope(path="/"), "/nk_russia", True),
    (scope(path="/about"), None, True), (scope(path="/about/x"), "/nk_russia", False),
    (scope(path="/", query=b"x=1"), "/nk_russia", False), ({"type": "lifespan"}, "/nk_russia", False)])
def test_only_a_plain_get_of_the_database_page_is_cached(s, database_path, cached):
    assert (nk_page_cache.cache_key(s, database_path) is not None) == cached


def test_hosts_are_kept_apart_and_cookies_never_stored():
    assert nk_page_cache.cache_key(scope(host=b"a"), "/nk_russia") != nk_page_cache.cache_key(scope(host=b"b"), "/nk_russia")
    assert nk_page_cache.storable({"status": 200, "headers": [(b"content-type", b"text/html")]})
    assert not nk_page_cache.storable({"status": 200, "headers": [(b"Set-Cookie", b"x=1")]})
    assert not nk_page_cache.storable({"status": 500, "headers": []})


@pytest.mark.parametrize("path", ["/", "/about"])
def test_home_and_method_pages_are_the_same_page_the_second_time(built, path):
    import asyncio
    ds = site_instance(built)
    loop = asyncio.new_event_loop()
    try:
        first, second = (loop.run_until_complete(ds.client.get(path)) for _ in range(2))
    finally:
        loop.close()
    assert first.status_code == second.status_code == 200 and first.content == second.content
    assert "set-cookie" not in first.headers and "content-security-policy" in second.headers


def test_the_database_page_is_the_same_page_the_second_time(built):
    import asyncio
    ds = site_instance(built)
    loop = asyncio.new_event_loop()
    try:
        first, second = (loop.run_until_complete(ds.client.get("/nk_russia")) for _ in range(2))
        other = loop.run_until_complete(ds.client.get("/nk_russia?sql=select+1"))
    finally:
        loop.close()
    assert first.status_code == second.status_code == 200 and first.content == second.content
    assert "claims" in first.text and "content-security-policy" in second.headers  # headers still added on the way out
    assert other.status_code == 200 and other.content != first.content
