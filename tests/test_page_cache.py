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


def test_the_table_permission_answer_is_computed_once_and_callers_get_their_own_copy():
    calls = []

    def allows(database, table):
        calls.append((database, table))
        return [{"id": "editor"}]
    memo = nk_page_cache.memoised(allows)
    first = memo("nk_russia", "claims")
    first[0]["id"] = "changed by a caller"
    assert memo("nk_russia", "claims") == [{"id": "editor"}] and calls == [("nk_russia", "claims")]
    assert memo("nk_russia", "actors") == [{"id": "editor"}] and len(calls) == 2


def test_a_table_hidden_by_an_allow_block_stays_hidden_with_the_memo(built):
    """The site's database with a fixture allow block (the published metadata has none): the memo keeps
    Datasette's answer, table by table."""
    import asyncio
    import json
    from datasette.app import Datasette
    metadata = json.loads(built["metadata"].read_text(encoding="utf-8"))
    metadata["databases"]["nk_russia"]["tables"]["claim_relations"]["allow"] = {"id": "root"}
    ds = Datasette(immutables=[str(built["db"])], metadata=metadata, plugins_dir=str(ROOT / "plugins"),
                   template_dir=str(ROOT / "templates"))

    async def statuses():
        await ds.invoke_startup()
        return [(await ds.client.get(p)).status_code
                for p in ("/nk_russia/claim_relations.json", "/nk_russia/claims.json", "/nk_russia/claim_relations.json")]
    assert asyncio.run(statuses()) == [403, 200, 403]
