"""Light pages: the chart script only where a chart can be drawn, static files compressed and cached.

- datasette-vega puts its ~1 MB script (render-blocking, in <head>) and stylesheet on every page. Its two
  asset hooks are taken out; table and query pages get instead static/nk-chart.js, a small deferred
  module that loads datasette-vega when the reader asks for a chart (or the address describes one).
- Static files are served under hashed names, /-/nk/<name>-<sha256 prefix>.<ext>, gzip-compressed when
  the browser accepts it and cached for a year (a new file gets a new name). Datasette's own static
  files (/-/static/app.css?<hash>, /-/static-plugins/…/main.<hash>.js) and static/ are compressed too.
- Everything stays on this origin: the Content-Security-Policy of plugins/nk_hardening.py is unchanged.
"""
import gzip
import hashlib
import mimetypes
import re
from pathlib import Path

from datasette import hookimpl
from datasette.plugins import pm

STATIC = Path(__file__).resolve().parent.parent / "static"
HASHED_PREFIX = "/-/nk/"
# table.html, query.html and their per-table/per-query variants (table-nk_russia-claims.html, …)
CHART_TEMPLATES = ("table", "query")
CHART_LOADER = "nk-chart.js"
STYLESHEET = "nk.css"
PAGE_SCRIPT = "nk.js"
YEAR = "public, max-age=31536000, immutable"
SHORT = "public, max-age=3600"
COMPRESSIBLE = (b"text/", b"application/javascript", b"application/json", b"image/svg+xml")
MIN_GZIP_BYTES = 1024
# Datasette's static URLs that already change with their content: app.css?<hash>, main.<hash>.js.
VERSIONED = re.compile(r"^/-/static-plugins/[^/]+/[^/]*\.[0-9a-f]{8,}\.[a-z]+$")


def drop_vega_assets() -> None:
    """Take datasette-vega's extra_js_urls/extra_css_urls out of the hooks (its static files stay served)."""
    for hook in (pm.hook.extra_js_urls, pm.hook.extra_css_urls):
        for impl in hook.get_hookimpls():
            if impl.plugin_name == "vega":
                hook._remove_plugin(impl.plugin)


drop_vega_assets()


def vega_static() -> Path:
    import datasette_vega
    return Path(datasette_vega.__file__).parent / "static"


def hashed_name(name: str, data: bytes) -> str:
    stem, dot, ext = name.rpartition(".")
    return f"{stem}-{hashlib.sha256(data).hexdigest()[:12]}{dot}{ext}"


def build_assets(static: Path, vega: Path) -> tuple[dict, dict]:
    """hashed name → (bytes, gzip bytes, content type); and file name → its hashed URL.

    datasette-vega's files come first, so that the chart loader can be given their hashed URLs."""
    assets, urls = {}, {}

    def add(name: str, data: bytes):
        hashed = hashed_name(name, data)
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        kind += "; charset=utf-8" if kind.startswith("text/") or kind.endswith("javascript") else ""
        assets[hashed] = (data, gzip.compress(data, 9, mtime=0), kind)
        urls[name] = HASHED_PREFIX + hashed

    for path in sorted(vega.glob("main.*")):
        if path.suffix in (".js", ".css"):
            add("vega" + path.suffix, path.read_bytes())
    for path in sorted(static.iterdir()):
        data = path.read_bytes()
        if path.name == CHART_LOADER:
            data = data.replace(b"__VEGA_JS__", urls["vega.js"].encode()).replace(b"__VEGA_CSS__", urls["vega.css"].encode())
        add(path.name, data)
    return assets, urls


_built = {}


def assets() -> tuple[dict, dict]:
    if not _built:
        _built["assets"], _built["urls"] = build_assets(STATIC, vega_static())
    return _built["assets"], _built["urls"]


def accepts_gzip(scope) -> bool:
    value = dict(scope.get("headers") or []).get(b"accept-encoding", b"")
    return b"gzip" in value.lower()


def cache_control(path: str, query_string: bytes) -> str:
    if path.startswith(HASHED_PREFIX) or VERSIONED.match(path) or (path.startswith("/-/static/") and query_string):
        return YEAR
    return SHORT


def with_headers(headers, replace: dict[bytes, bytes]):
    return [(k, v) for k, v in headers if k.lower() not in replace] + list(replace.items())


async def send_asset(scope, send, name: str) -> None:
    found = assets()[0].get(name)
    if found is None:
        await send({"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"Not found"})
        return
    data, zipped, kind = found
    headers = {b"content-type": kind.encode(), b"cache-control": YEAR.encode(), b"vary": b"Accept-Encoding"}
    if accepts_gzip(scope):
        data, headers[b"content-encoding"] = zipped, b"gzip"
    headers[b"content-length"] = str(len(data)).encode()
    await send({"type": "http.response.start", "status": 200, "headers": list(headers.items())})
    await send({"type": "http.response.body", "body": data})


async def send_compressed(app, scope, receive, send) -> None:
    """A static file from Datasette, gzip-compressed when worth it, with its cache lifetime."""
    start, chunks = None, []

    async def capture(event):
        nonlocal start
        if event["type"] == "http.response.start":
            start = event
            return
        if event["type"] != "http.response.body":
            return await send(event)
        chunks.append(event.get("body", b""))
        if event.get("more_body"):
            return
        body, headers = b"".join(chunks), start.get("headers") or []
        replace = {}
        if start["status"] == 200:
            replace[b"cache-control"] = cache_control(scope["path"], scope.get("query_string", b"")).encode()
            replace[b"vary"] = b"Accept-Encoding"
            kind = dict(headers).get(b"content-type", b"")
            if accepts_gzip(scope) and kind.startswith(COMPRESSIBLE) and len(body) >= MIN_GZIP_BYTES:
                body, replace[b"content-encoding"] = gzip.compress(body, 6), b"gzip"
            replace[b"content-length"] = str(len(body)).encode()
        await send(dict(start, headers=with_headers(headers, replace)))
        await send({"type": "http.response.body", "body": body})

    await app(scope, receive, capture)


# tryfirst: the innermost wrapper, so that nk_hardening's refusals and security headers apply to these files too.
@hookimpl(tryfirst=True)
def asgi_wrapper(datasette):
    def wrap(app):
        async def static(scope, receive, send):
            path = scope.get("path", "") if scope["type"] == "http" else ""
            if path.startswith(HASHED_PREFIX):
                return await send_asset(scope, send, path[len(HASHED_PREFIX):])
            if path.startswith(("/-/static/", "/-/static-plugins/", "/static/")):
                return await send_compressed(app, scope, receive, send)
            return await app(scope, receive, send)
        return static
    return wrap


@hookimpl
def startup():
    assets()  # hashed and gzipped as the worker starts (some 65 ms), not during its first page


@hookimpl
def extra_css_urls():
    return [assets()[1][STYLESHEET]]


@hookimpl
def extra_js_urls(template):
    # Module scripts are deferred: they never block rendering. Every page gets the small page script (copy
    # buttons, labels); only table and query pages chart.
    urls = assets()[1]
    chart = [{"url": urls[CHART_LOADER], "module": True}] if (template or "").startswith(CHART_TEMPLATES) else []
    return [{"url": urls[PAGE_SCRIPT], "module": True}] + chart
