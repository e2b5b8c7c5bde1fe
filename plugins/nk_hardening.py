"""Public-site hardening: bounded SQLite, security headers, no caching of failures, robots rules.

Journalists keep arbitrary read-only SQL; these limits bound what one query can cost.
"""
import re
import sqlite3
import sys
import traceback
import urllib.parse

import datasette.handle_exception as default_error_page
from datasette import hookimpl
from datasette.utils.asgi import Base400
from datasette.utils.asgi import Response

# Largest string or blob a query may build: the biggest real value (a document's text) is ~5 KB,
# so 10 MB is generous, while `select randomblob(1000000000)` fails at once instead of allocating 1 GB.
MAX_VALUE_BYTES = 10_000_000
SQLITE_LIMITS = {
    sqlite3.SQLITE_LIMIT_LENGTH: MAX_VALUE_BYTES,
    sqlite3.SQLITE_LIMIT_SQL_LENGTH: 100_000,
    sqlite3.SQLITE_LIMIT_ATTACHED: 0,  # no ATTACH of other files, ever
    sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH: 1_000,
    sqlite3.SQLITE_LIMIT_EXPR_DEPTH: 200,
    sqlite3.SQLITE_LIMIT_COMPOUND_SELECT: 50,
}

# datasette-vega compiles chart specs at run time, hence 'unsafe-eval'; Datasette's pages carry small
# inline scripts and styles. Everything is served from this origin: no CDN.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
]

# Crawlers may read pages, not run SQL, export, facet-walk or download the database.
ROBOTS_TXT = """User-agent: *
Disallow: /*sql=
Disallow: /*.csv
Disallow: /*.json
Disallow: /*_facet
Disallow: /*_search
Disallow: /*_sort
Disallow: /*.db
Disallow: /-/
"""


@hookimpl
def prepare_connection(conn):
    for limit, value in SQLITE_LIMITS.items():
        conn.setlimit(limit, value)


def with_security_headers(headers):
    names = {name for name, _ in SECURITY_HEADERS}
    return [(k, v) for k, v in headers if k.lower() not in names] + SECURITY_HEADERS


# A redirect may be cached, briefly: a retired id's 301 (plugins/nk_redirects.py) asks for a day.
LONGEST_REDIRECT_CACHE = 86_400


def max_age(value: bytes) -> int | None:
    for part in value.decode("latin-1").split(","):
        name, _, number = part.strip().partition("=")
        if name.lower() == "max-age" and number.strip().isdigit():
            return int(number)
    return None


def cacheable_only_if_ok(status: int, headers):
    """Only a successful response may be cached for long. datasette-hashed-urls (in the deploy images) marks
    every response under the hashed database URL `max-age=31536000, public`, errors included: a CDN would
    then serve a momentary 500, or a 404 from before a fix, for a year. Errors become no-store; a redirect
    keeps its own header unless it asks for more than LONGEST_REDIRECT_CACHE, which it gets instead."""
    if 200 <= status < 300:
        return headers
    cache = [v for k, v in headers if k.lower() == b"cache-control"]
    if 300 <= status < 400:
        if not cache or (max_age(cache[-1]) or 0) <= LONGEST_REDIRECT_CACHE:
            return headers
        replacement = f"max-age={LONGEST_REDIRECT_CACHE}".encode()
    else:
        replacement = b"no-store"
    return [(k, v) for k, v in headers if k.lower() != b"cache-control"] + [(b"cache-control", replacement)]


# Our own pages outside the database (home, /about, the change log and its feed, released files), and the
# database's CSV downloads: they change with a deploy only, yet Datasette sends them without Cache-Control
# (its HTML and JSON get default_cache_ttl), so a CDN in front decides for itself.
SITE_PAGES = re.compile(r"^/(about|changes|changes\.atom)?$|^/releases/|\.csv$")


def cached_as_data_pages(status: int, headers, ttl: int):
    """A successful response without Cache-Control gets Datasette's default_cache_ttl, as its data pages do."""
    if not 200 <= status < 300 or not ttl or any(k.lower() == b"cache-control" for k, _ in headers):
        return headers
    return headers + [(b"cache-control", f"max-age={ttl}".encode())]


def is_traversal(scope) -> bool:
    """True for a path with a '..' segment, however it was encoded."""
    raw = scope.get("raw_path") or scope["path"].encode()
    decoded = urllib.parse.unquote(urllib.parse.unquote(raw.decode("latin-1")))
    return ".." in decoded.replace("\\", "/").split("/")


async def refuse(send, status: int, message: bytes):
    await send({"type": "http.response.start", "status": status, "headers": cacheable_only_if_ok(
        status, with_security_headers([(b"content-type", b"text/plain; charset=utf-8")]))})
    await send({"type": "http.response.body", "body": message})


# trylast: the outermost wrapper, so that the headers it sets are final whatever other plugins
# (datasette-hashed-urls) set inside it.
@hookimpl(trylast=True)
def asgi_wrapper(datasette):
    def wrap(app):
        async def add_headers(scope, receive, send):
            if scope["type"] != "http":
                return await app(scope, receive, send)
            # Refused before routing: no static mount, template page or plugin route ever sees '..'.
            if is_traversal(scope):
                return await refuse(send, 404, b"Not found")

            async def send_with_headers(event):
                if event["type"] == "http.response.start":
                    headers = with_security_headers([tuple(h) for h in event.get("headers", [])])
                    if SITE_PAGES.search(scope["path"]):
                        headers = cached_as_data_pages(event["status"], headers, datasette.setting("default_cache_ttl"))
                    event = dict(event, headers=cacheable_only_if_ok(event["status"], headers))
                await send(event)

            await app(scope, receive, send_with_headers)
        return add_headers
    return wrap


# Datasette's own error page prints every exception, a 404 included, as a rich traceback with the locals of
# each frame: about a second of one core per missing page, so that a crawler walking dead links, or anyone,
# holds a worker at will. The page itself is still Datasette's (its hook renders it); only that print goes.
default_error_page.rich = None


def is_client_error(exception: BaseException) -> bool:
    return isinstance(exception, Base400) or 400 <= getattr(exception, "status", 500) < 500


@hookimpl(tryfirst=True)
def handle_exception(exception):
    # A server error is still logged, as a plain traceback (no local values: they can hold a query's data).
    if not is_client_error(exception):
        traceback.print_exception(exception, file=sys.stderr)
    return None  # Datasette renders the page


@hookimpl
def register_routes():
    async def robots_txt():
        return Response.text(ROBOTS_TXT)
    return [(r"^/robots\.txt$", robots_txt)]
