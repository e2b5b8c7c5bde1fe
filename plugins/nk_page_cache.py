"""The pages that take no arguments — home, the method page, the database page — rendered once per worker
and then served from memory.

Datasette's database page (/nk_russia) introspects every table on every request — columns, keys,
full-text indexes, foreign keys, hidden tables: some 270 small queries, each handed to a thread, about
200 ms of one core, more under load than any other page. The database is immutable and the page takes
no arguments, so its bytes never change while the server runs: the first successful response is kept
(per host, since its Link header names the host) and sent again. The home page (a dozen summary queries,
the chart, the generated summary) and /about (the rendered codebook) are the same: no argument, nothing
of the visitor's, nothing of the day.
"""
from datasette import hookimpl

DATABASE = "nk_russia"
# Home and /about; and the database page, at the database's route (datasette.urls.database: /nk_russia, or
# /nk_russia-<hash> under datasette-hashed-urls in the deploy images).
CACHED_PATHS = ("/", "/about")
MAX_ENTRIES = 16  # one per host name the site is reached by; a bound, not a size anyone reaches


def cache_key(scope, database_path: str | None) -> tuple | None:
    """(path, scheme, host) for a plain GET of a cached page, else None. database_path: the database page's."""
    if (scope["type"] != "http" or scope["method"] != "GET" or scope.get("query_string")
            or scope["path"] not in (*CACHED_PATHS, database_path)):
        return None
    host = next((v for k, v in scope.get("headers", []) if k == b"host"), b"")
    return scope["path"], scope.get("scheme", "http"), host


def storable(start: dict) -> bool:
    """Only a plain successful page: no cookie set for one visitor."""
    return start["status"] == 200 and not any(k.lower() == b"set-cookie" for k, _ in start.get("headers", []))


@hookimpl
def asgi_wrapper(datasette):
    pages = {}

    def wrap(app):
        async def cached(scope, receive, send):
            key = cache_key(scope, datasette.urls.database(DATABASE) if DATABASE in datasette.databases else None)
            if key is None:
                return await app(scope, receive, send)
            if key in pages:
                for event in pages[key]:
                    await send(event)
                return
            events = []

            async def keep(event):
                events.append(event)
                await send(event)
            await app(scope, receive, keep)
            if events and storable(events[0]) and not any(e.get("more_body") for e in events[1:]) and len(pages) < MAX_ENTRIES:
                pages[key] = events
        return cached
    return wrap


@hookimpl
def startup(datasette):
    # Datasette 0.65.5 answers "may this visitor see this table?" by deep-copying the whole merged metadata
    # (every table's column descriptions, the queries, the codebook: about a thousand objects) three times
    # per table or row page, some 10 ms of a 20 ms row page. The metadata is fixed for the life of the process
    # (no plugin supplies metadata at run time, and metadata.json is read once), so the answer for a
    # (database, table) pair never changes: it is computed once per worker.
    datasette._table_permission_allows = memoised(datasette._table_permission_allows)


def memoised(allows):
    answers = {}

    def table_permission_allows(database, table):
        key = (database, table)
        if key not in answers:
            answers[key] = allows(database, table)
        return [dict(a) if isinstance(a, dict) else a for a in answers[key]]  # callers get their own copy
    return table_permission_allows
