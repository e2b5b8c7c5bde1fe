"""Canned query pages show one page of rows, with previous/next links; their CSV and JSON keep every row.

Datasette renders every row a canned query returns (up to max_returned_rows, 1,000) as HTML, calling
render_cell for each of its cells: most of a query page's time at scale, for rows nobody scrolls to. Here,
for an HTML request only, the requested query's SQL — whatever it is, as written in metadata.yml — is run
as `select * from (<its SQL>) limit PAGE_ROWS offset N`, N from ?_offset=. Nothing in a query has to know.
Offsets rather than keys: a generic wrapper cannot know each query's sort key, and the queries that page
read small precomputed tables or stop early in FTS5 indexes, so skipping rows costs little.

The hooks learn which page is asked for from the request, which Datasette's canned_queries hook is not
given: an ASGI wrapper keeps it in a context variable for the duration of the request.
"""
import contextvars
import copy
import urllib.parse

from datasette import hookimpl
from datasette.utils import derive_named_parameters

PAGE_ROWS = 50  # as a table page (settings.json default_page_size): a journalist reads a page, a download takes all
MAX_OFFSET = 1_000_000  # past this a crawler, not a reader, is paging
# The request being served (path, query arguments) and, once a query was paged, what the pager needs.
REQUEST = contextvars.ContextVar("nk_paging_request", default=None)


# ---- pure helpers -------------------------------------------------------------------------------

def requested_offset(args: dict) -> int:
    """?_offset= as a row offset: a whole multiple of PAGE_ROWS from 0 to MAX_OFFSET; anything else is 0."""
    value = (args.get("_offset") or "").strip()
    if not value.isdigit():
        return 0
    offset = min(int(value), MAX_OFFSET)
    return offset - offset % PAGE_ROWS


def body_of(sql: str) -> str:
    return sql.strip().rstrip(";").rstrip()


def limited_sql(sql: str, offset: int, rows: int = PAGE_ROWS) -> str:
    """The query itself, limited: LIMIT on its own last line (a trailing `-- comment` cannot swallow it).
    SQLite keeps every optimisation of the query (a WHERE pushed into a UNION ALL, an index that serves
    its ORDER BY); valid only when the query has no LIMIT of its own."""
    return f"{body_of(sql)}\nlimit {int(rows)} offset {int(offset)}"


def wrapped_sql(sql: str, offset: int, rows: int = PAGE_ROWS) -> str:
    """One page of any SELECT, as a subquery: always valid, but SQLite may then read more of the tables."""
    return f"select * from (\n{body_of(sql)}\n) limit {int(rows)} offset {int(offset)}"


async def page_form(datasette, database: str, name: str, sql: str):
    """limited_sql if SQLite accepts it for this query (checked once per query and process), else wrapped_sql."""
    known = datasette.__dict__.setdefault("_nk_paging_forms", {})
    if (database, name) not in known:
        db = datasette.get_database(database)
        try:
            names = await derive_named_parameters(db, sql)
            await db.execute("explain " + limited_sql(sql, 0), {n: None for n in names})
            known[(database, name)] = limited_sql
        except Exception:
            known[(database, name)] = wrapped_sql
    return known[(database, name)]


def html_query_name(path: str, args: dict) -> str | None:
    """The query or table name an HTML page request asks for (/db/name, no .json/.csv, no _format), else None."""
    parts = [p for p in path.split("/") if p]
    if len(parts) != 2 or "." in parts[1] or args.get("_format"):
        return None
    return urllib.parse.unquote(parts[1])


def page_link(path: str, args: dict, offset: int) -> str:
    kept = [(k, v) for k, v in args.items() if k != "_offset"]
    if offset:
        kept.append(("_offset", str(offset)))
    return path + ("?" + urllib.parse.urlencode(kept) if kept else "")


def pager(path: str, args: dict, offset: int) -> dict:
    """Where the page is and links to the pages either side. The page's SQL asks for one row past the page: the
    template shows PAGE_ROWS rows and the next link only when that extra row came back (no second query)."""
    return {"offset": offset, "page_rows": PAGE_ROWS,
            "previous": page_link(path, args, max(0, offset - PAGE_ROWS)) if offset else None,
            "next": page_link(path, args, offset + PAGE_ROWS)}


# ---- hooks --------------------------------------------------------------------------------------

@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def remember_request(scope, receive, send):
            if scope["type"] != "http":
                return await app(scope, receive, send)
            args = dict(urllib.parse.parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
            token = REQUEST.set({"path": scope["path"], "args": args})
            try:
                await app(scope, receive, send)
            finally:
                REQUEST.reset(token)
        return remember_request
    return wrap


def original_queries(datasette, database: str) -> dict:
    """The queries as metadata.yml declares them, copied once per Datasette. Datasette merges what this
    hook returns into the very dict its metadata holds: without the copy, one page's SQL would stay."""
    kept = datasette.__dict__.setdefault("_nk_paging_originals", {})
    if database not in kept:
        kept[database] = copy.deepcopy(datasette.metadata("queries", database=database, fallback=False) or {})
    return kept[database]


@hookimpl
def canned_queries(datasette, database):
    originals = original_queries(datasette, database)
    request = REQUEST.get()
    if request is None:
        return originals

    async def with_page():
        if "paged" not in request:
            request["paged"] = None
            name = html_query_name(request["path"], request["args"])
            query = originals.get(name) if name else None
            if isinstance(query, dict) and not query.get("write"):
                offset = requested_offset(request["args"])
                form = await page_form(datasette, database, name, query["sql"])
                # params kept as declared (or derived from the original SQL): the page adds none.
                paged = dict(query, sql=form(query["sql"], offset, rows=PAGE_ROWS + 1), params=query.get("params"))
                request["paged"] = {"database": database, "name": name, "sql": query["sql"], "offset": offset,
                                    "query": paged, "form": form}
        paged = request["paged"]
        return {**originals, paged["name"]: paged["query"]} if paged and paged["database"] == database else originals
    return with_page


@hookimpl
def extra_template_vars(template, request, datasette):
    paged = (REQUEST.get() or {}).get("paged")
    if not paged or not template.startswith("query") or request is None:
        return {}

    return {"nk_pager": pager(request.path, REQUEST.get()["args"], paged["offset"])}
