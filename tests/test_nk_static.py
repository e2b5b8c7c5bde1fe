"""plugins/nk_static.py on a real server: the chart script only on chart pages and on demand, static files
under hashed names, compressed and cached for a year, the Content-Security-Policy unchanged."""
import gzip
import hashlib
import re
import urllib.request

import pytest

from .conftest import ROOT

NO_GZIP, GZIP = {"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip"}


def get(url: str, headers=None):
    request = urllib.request.Request(url, headers=headers or NO_GZIP)
    with urllib.request.urlopen(request, timeout=60) as r:
        return {k.lower(): v for k, v in r.headers.items()}, r.read()


def page_assets(html: str):
    head = html.split("</head>", 1)[0]
    blocking = [tag for tag in re.findall(r"<script[^>]*>", head)
                if "src=" in tag and not re.search(r"\b(defer|async)\b|type=\"module\"", tag)]
    return blocking, re.findall(r'(?:src|href)="(/-/nk/[^"]+)"', html)


@pytest.mark.parametrize("path", ["/", "/nk_russia/appearances/003-ap-01", "/nk_russia/documents/003_a098e6d6fb83daf6", "/about"])
def test_pages_without_a_chart_load_no_chart_script_and_nothing_render_blocking(live_server, path):
    _, body = get(live_server["url"] + path)
    html = body.decode()
    blocking, ours = page_assets(html)
    assert blocking == []
    assert "vega" not in html and not any("nk-chart" in u for u in ours)


@pytest.mark.parametrize("path", ["/nk_russia/troop_estimates", "/nk_russia/search?q=S-400", "/nk_russia/russia_to_north_korea"])
def test_chart_pages_get_a_small_deferred_loader_not_the_chart_script(live_server, path):
    base = live_server["url"]
    html = get(base + path)[1].decode()
    assert "datasette_vega" not in html
    (loader,) = [u for u in page_assets(html)[1] if "nk-chart" in u]
    assert f'<script type="module" src="{loader}"' in html
    headers, script = get(base + loader)
    assert len(script) < 10_000
    vega_js, vega_css = re.findall(r'"(/-/nk/vega-[0-9a-f]{12}\.(?:js|css))"', script.decode())
    headers, vega = get(base + vega_js, GZIP)
    assert headers["content-encoding"] == "gzip" and len(vega) < 400_000  # from ~945 KB
    assert len(gzip.decompress(vega)) > 900_000


def test_hashed_static_files_are_compressed_cached_and_named_by_content(live_server):
    base = live_server["url"]
    html = get(base + "/")[1].decode()
    (css,) = [u for u in page_assets(html)[1] if u.startswith("/-/nk/nk-") and u.endswith(".css")]
    plain_headers, plain = get(base + css)
    assert plain == (ROOT / "static" / "nk.css").read_bytes()
    assert css == f"/-/nk/nk-{hashlib.sha256(plain).hexdigest()[:12]}.css"
    headers, zipped = get(base + css, GZIP)
    assert headers["content-encoding"] == "gzip" and gzip.decompress(zipped) == plain
    for h in (plain_headers, headers):
        assert h["cache-control"] == "public, max-age=31536000, immutable" and h["vary"] == "Accept-Encoding"
        assert "default-src 'self'" in h["content-security-policy"]
    assert get(base + "/-/static/app.css?x", GZIP)[0]["content-encoding"] == "gzip"
    assert get(base + "/static/nk.css")[0]["cache-control"] == "public, max-age=3600"  # not hashed: an hour
    with pytest.raises(urllib.error.HTTPError) as missing:
        get(base + "/-/nk/nk-000000000000.css")
    assert missing.value.code == 404


def test_a_worker_builds_its_assets_and_compiles_its_row_templates_before_its_first_page(built):
    """Each worker's first page used to pay for hashing and gzipping the static files and compiling the
    synchronous row templates (some 90 ms at a million rows): now its startup does."""
    import asyncio
    from datasette.plugins import pm
    from .conftest import site_instance
    ds = site_instance(built)  # loads plugins/ (again): the modules below are the ones this Datasette uses

    def plugin(name):
        return next(p for p in pm.get_plugins() if getattr(p, "__file__", "") == str(ROOT / "plugins" / name))
    static, pages = plugin("nk_static.py"), plugin("nk_pages.py")
    static._built.clear()
    asyncio.run(ds.invoke_startup())
    assert static._built["assets"] and static._built["urls"][static.STYLESHEET]
    twin = ds.jinja_env.globals["nk_sync_include"].twin
    assert not twin.is_async and set(pages.SYNC_TEMPLATES) <= {name for _, name in twin.cache.keys()}
