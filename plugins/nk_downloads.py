"""Downloads a journalist can open: named CSV files, an Excel variant, absolute links, the data package.

- Every `.csv` of a table or query is served as a file (text/csv, attachment, `nk_russia-<name>.csv`),
  every field quoted, so that a CSV sniffer (csvkit, pandas' python engine, spreadsheets) reads commas
  as the delimiter whatever the text holds: an apostrophe-quoted phrase in the first kilobyte made
  csvkit guess a space delimiter. `_bom=1` (the "excel" link next to CSV, `.excel`) adds the UTF-8 byte
  order mark Excel needs to read UTF-8, as `nk_russia-<name>-excel.csv`.
- In CSV and JSON exports the link columns (`row`, `example_row`: "appearances/003-ap-01") become
  absolute URLs, so that a downloaded file still points at the row.
- /download/<file> serves the build's dist/ folder: the data package's CSVs, datapackage.json, the
  codebook and the zipped package with its sha256.

Streamed downloads. A canned query's `.csv` and `.json` (with its parameters, in every JSON shape
Datasette gives a query) hold every row, where Datasette stops at max_returned_rows (1,000) and says
"truncated". The query runs on a read-only connection of its own, in a thread of its own, STREAM_ROWS rows
at a time; each chunk is encoded in that thread and sent while the next is read, and `send` waits while
the client's socket is full, so the server holds a chunk or two whatever the number of rows. What bounds
a download:
  - time: each chunk must come out of SQLite within sql_time_limit_ms (or a smaller `_timelimit`), by
    Datasette's own progress handler, so a query that stalls before or between rows is stopped as
    Datasette's page would stop it; an error before the first row is Datasette's error response, one
    after it leaves the response unfinished (the client sees a broken download, never a short file);
  - size: the rows of a query written in metadata.yml over an immutable database. max_csv_mb is NOT
    honoured here: it would cut a million-row download at 10 MB, which this exists to avoid (arbitrary
    SQL keeps Datasette's 1,000 rows, tables keep Datasette's `_stream=on` and its max_csv_mb);
  - concurrency: MAX_STREAMS downloads at once per worker process (a 503 beyond), and a client that
    leaves stops its query at the next chunk.
"""
import asyncio
import csv
import hashlib
import io
import json
import re
import sqlite3
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from datasette import hookimpl
from datasette.renderer import convert_specific_columns_to_json
from datasette.utils import (CustomJSONEncoder, derive_named_parameters, path_with_format, remove_infinites,
                             sqlite_timelimit, tilde_decode, tilde_encode, value_as_boolean)
from datasette.utils.asgi import AsgiFileDownload, NotFound, Request, Response
from datasette.views.base import DatasetteError
from datasette.views.database import MagicParameters
from datasette.views.table import TableView

DATABASE = "nk_russia"
LINK_COLUMNS = {"row", "example_row"}
ROW_REF = re.compile(r"([a-z_]+)/([A-Za-z0-9_.-]+)")
# The database's own exports: /<route>.csv (SQL) and /<route>/<table or query>.<ext>, where <route> is the
# database's path as Datasette routes it (datasette.urls.database: /nk_russia, or /nk_russia-<hash> under
# datasette-hashed-urls in the deploy images).
EXPORT = re.compile(r"^(?P<database>/[^/.]+)(?:/(?P<name>[^/]+?))?\.(?P<ext>csv|json|excel)$")
BOM = "\ufeff"
DIST_TYPES = {".csv": "text/csv; charset=utf-8", ".json": "application/json", ".md": "text/plain; charset=utf-8",
              ".zip": "application/zip", ".sha256": "text/plain; charset=utf-8"}
DIST_FILE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


# ---- pure helpers -------------------------------------------------------------------------------

def file_name(name: str | None, excel: bool = False) -> str:
    """The download's file name: nk_russia-appearances.csv, nk_russia-search-excel.csv, nk_russia.csv."""
    stem = f"{DATABASE}-{urllib.parse.unquote(name)}" if name else DATABASE
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem)
    return f"{stem}-excel.csv" if excel else f"{stem}.csv"


def absolute_link(value, base: str):
    """'appearances/003-ap-01' → base + '/nk_russia/appearances/003-ap-01'; anything else unchanged.

    The database's name, not its hashed route: a downloaded file outlives a deploy, and /nk_russia/... always
    leads to the current data, where a hashed URL would lead there only by one more redirect."""
    m = ROW_REF.fullmatch(value) if isinstance(value, str) else None
    if not m:
        return value
    key = m.group(2)
    # Of the characters ROW_REF lets through only '.' is tilde-encoded; skipping the encoder for the rest
    # halves the cost of a streamed download's link column.
    return f"{base}/{DATABASE}/{m.group(1)}/{tilde_encode(key) if '.' in key else key}"


class CsvRewriter:
    """Re-writes Datasette's CSV as it streams: every field quoted, link columns absolute.

    Datasette quotes with '"' and doubles it inside a field, so a line break ends a record exactly when
    the quotes before it are balanced; only whole records are parsed, the rest waits for the next chunk."""

    def __init__(self, base: str):
        self.base, self.pending, self.links = base, "", None

    def feed(self, text: str) -> str:
        self.pending += text
        cut, quotes = -1, 0
        for m in re.finditer(r'["\n]', self.pending):
            if m.group(0) == '"':
                quotes += 1
            elif quotes % 2 == 0:
                cut = m.end()
        if cut < 0:
            return ""
        done, self.pending = self.pending[:cut], self.pending[cut:]
        return self.rewrite(done)

    def close(self) -> str:
        rest, self.pending = self.pending, ""
        return self.rewrite(rest) if rest else ""

    def rewrite(self, text: str) -> str:
        records = list(csv.reader(io.StringIO(text, newline="")))
        header = ""
        if self.links is None and records:
            self.links = link_indexes(records[0])
            header, records = csv_text([records[0]], [], self.base), records[1:]
        return header + csv_text(records, self.links, self.base)


def link_indexes(columns) -> list[int]:
    return [i for i, name in enumerate(columns) if name in LINK_COLUMNS]


def csv_text(records, links, base: str) -> str:
    """Records as CSV the way every download is written: every field quoted, CRLF, link columns absolute."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    if links:
        records = [list(r) for r in records]
        for record in records:
            for i in links:
                if i < len(record):
                    record[i] = absolute_link(record[i], base)
    writer.writerows(records)
    return out.getvalue()


def absolute_json(data, base: str):
    """Link columns made absolute in any of Datasette's JSON shapes (objects, or arrays with "columns")."""
    if isinstance(data, dict):
        columns = data.get("columns")
        if isinstance(columns, list) and isinstance(data.get("rows"), list):
            links = link_indexes(columns)
            for row in data["rows"]:
                if isinstance(row, list):
                    for i in links:
                        row[i] = absolute_link(row[i], base)
        return {k: absolute_link(v, base) if k in LINK_COLUMNS else absolute_json(v, base) for k, v in data.items()}
    if isinstance(data, list):
        return [absolute_json(v, base) for v in data]
    return data


def base_url(scope, force_https: bool) -> str:
    headers = dict(scope.get("headers") or [])
    host = headers.get(b"host", b"localhost").decode("latin-1")
    scheme = "https" if force_https else scope.get("scheme", "http")
    return f"{scheme}://{host}"


def excel_location(path: str, query_string: str) -> str:
    """The .excel link (an output renderer, so that it sits next to CSV on every page) → the CSV with a BOM."""
    args = [(k, v) for k, v in urllib.parse.parse_qsl(query_string, keep_blank_values=True) if k not in ("_size", "_bom")]
    return path[: -len(".excel")] + ".csv?" + urllib.parse.urlencode(args + [("_size", "max"), ("_bom", "1")])


def dist_dir(datasette) -> Path | None:
    """The build's dist/ folder, beside the database file (the repository's root, or a test's build folder)."""
    db = datasette.databases.get(DATABASE)
    return Path(db.path).parent / "dist" if db is not None and db.path else None


# ---- every row of a canned query, streamed ---------------------------------------------------------

class CsvEncoder:
    """A canned query's rows as a download's CSV (csv_text), header first unless `_header=off`."""

    def __init__(self, columns, base, excel=False, header=True, blob_url=None):
        self.columns, self.base, self.links, self.blob_url = columns, base, link_indexes(columns), blob_url
        self.start = (BOM if excel else "") + (csv_text([columns], [], base) if header else "")

    def head(self) -> str:
        return self.start

    def chunk(self, rows) -> str:
        if self.blob_url and any(isinstance(v, bytes) for row in rows for v in row):
            # As Datasette's CSV does: a binary value becomes the address that serves it.
            rows = [[self.blob_url(c, v) if isinstance(v, bytes) else v for c, v in zip(self.columns, row)] for row in rows]
        return csv_text(rows, self.links, self.base)

    def tail(self, query_ms: float) -> str:
        return ""


class JsonEncoder:
    """A canned query's rows in Datasette's JSON shapes, written as they come: `arrays` (the default) and
    `objects` are Datasette's whole answer with "rows" in place and "truncated": false, `array` a list of
    objects (one a line with `_nl=1`), `arrayfirst` the first column's values. `head` holds the keys Datasette
    puts before "rows", `tail` the ones after it, in its order (query_ms measured to the last row)."""

    def __init__(self, columns, base, shape="arrays", nl=False, json_columns=(), infinity=False, head=None, tail=None):
        self.columns, self.base, self.links = columns, base, link_indexes(columns)
        self.shape, self.nl = shape, nl and shape == "array"
        self.json_columns, self.infinity = list(json_columns), infinity
        self.whole = shape in ("arrays", "objects")
        self.head_keys, self.tail_keys = head or {}, tail or {}
        self.first = True

    def head(self) -> str:
        if not self.whole:
            return "" if self.nl else "["
        return dump(self.head_keys)[:-1] + (", " if self.head_keys else "") + '"rows": ['

    def items(self, rows) -> list:
        rows = [list(r) for r in rows]
        for row in rows:
            for i in self.links:
                row[i] = absolute_link(row[i], self.base)
        if self.json_columns:
            rows = convert_specific_columns_to_json(rows, self.columns, self.json_columns)
        if not self.infinity:
            rows = [remove_infinites(r) for r in rows]
        if self.shape == "arrayfirst":
            return [r[0] for r in rows]
        if self.shape in ("objects", "array"):
            return [dict(zip(self.columns, r)) for r in rows]
        return rows

    def chunk(self, rows) -> str:
        if not rows:
            return ""
        items = self.items(rows)
        if self.nl:
            text = "\n".join(dump(i) for i in items)
        else:
            text = dump(items)[1:-1]
        separator = "" if self.first else ("\n" if self.nl else ", ")
        self.first = False
        return separator + text

    def tail(self, query_ms: float) -> str:
        if not self.whole:
            return "" if self.nl else "]"
        rest = {**self.tail_keys, "query_ms": query_ms} if "query_ms" in self.tail_keys else self.tail_keys
        return "], " + dump(rest)[1:]


def dump(value) -> str:
    return json.dumps(value, cls=CustomJSONEncoder, ensure_ascii=False)


STREAM_ROWS = 1000  # rows per chunk: one executor hop and one time budget each; a chunk or two in memory at once
MAX_STREAMS = 4  # downloads at once per worker process, each with a thread and a connection; more get a 503
JSON_SHAPES = {"arrays", "objects", "array", "arrayfirst"}


class Streams:
    """A worker's download slots: MAX_STREAMS connections of their own (read-only, prepared as Datasette
    prepares its own, kept for the next download) and as many threads, apart from Datasette's query threads."""

    def __init__(self, datasette):
        self.datasette, self.idle, self.busy = datasette, [], 0
        self.threads = ThreadPoolExecutor(MAX_STREAMS, thread_name_prefix="nk-download")

    def acquire(self, db):
        if self.busy >= MAX_STREAMS:
            return None
        if self.idle:
            conn = self.idle.pop()
        else:
            conn = db.connect()  # ?immutable=1 or ?mode=ro, as Datasette's own read connections
            self.datasette._prepare_connection(conn, db.name)
        self.busy += 1
        return conn

    def release(self, conn):
        self.busy -= 1
        self.idle.append(conn)


class RowStream:
    """One canned query on a slot's connection, read STREAM_ROWS rows at a time in a slot's thread. Each
    chunk must come out of SQLite within the time limit (sql_time_limit_ms, or a smaller `_timelimit`), by
    Datasette's own progress handler; the first chunk's budget also covers preparing and starting the query."""

    def __init__(self, conn, sql, params, time_limit_ms, encoder_for):
        self.conn, self.sql, self.params, self.ms, self.encoder_for = conn, sql, params, time_limit_ms, encoder_for
        self.cursor = self.encoder = None

    def first(self) -> bytes:
        with sqlite_timelimit(self.conn, self.ms):
            self.cursor = self.conn.cursor()
            self.cursor.row_factory = None  # tuples: encoded natively, no sqlite3.Row per row
            self.cursor.execute(self.sql, self.params)
            rows = self.cursor.fetchmany(STREAM_ROWS)
        self.encoder = self.encoder_for([d[0] for d in self.cursor.description or []])
        return (self.encoder.head() + self.encoder.chunk(rows)).encode("utf-8")

    def next(self) -> bytes | None:
        """The next chunk, encoded; None once every row was read."""
        with sqlite_timelimit(self.conn, self.ms):
            rows = self.cursor.fetchmany(STREAM_ROWS)
        return self.encoder.chunk(rows).encode("utf-8") if rows else None

    def close(self):
        if self.cursor is not None:
            self.cursor.close()


def time_limit_ms(datasette, args) -> int:
    """Datasette's rule: sql_time_limit_ms, or `_timelimit` when it asks for less."""
    limit = datasette.setting("sql_time_limit_ms")
    asked = args.get("_timelimit") or ""
    return min(limit, int(asked)) if asked.isdigit() and int(asked) > 0 else limit


def query_params(request, names) -> dict:
    """The parameters as Datasette's QueryView gives them: every argument but sql and _shape, and "" for a
    named parameter not given."""
    params = {key: request.args.get(key) for key in request.args if key not in ("sql", "_shape")}
    for name in names:
        if name not in params and not name.startswith("_"):
            params[name] = ""
    return params


def streamable_json(args) -> bool:
    """A JSON shape this streams: Datasette answers `_shape=object` (tables only) and bad arguments itself."""
    try:
        value_as_boolean(args.get("_json_infinity", "0"))
    except ValueError:
        return False
    return args.get("_shape", "arrays") in JSON_SHAPES


async def stream_query(datasette, request, send, receive, name, datasette_view):
    """GET /<db>/<canned query>.csv or .json: every row, streamed (see "Streamed downloads" above); anything
    this does not stream, and any error before the first row, is answered by Datasette's own view."""
    fmt, args = request.url_vars["format"], request.args
    try:
        db = datasette.get_database(route=tilde_decode(request.url_vars["database"]))
    except KeyError:
        return await datasette_view(request, send)
    database = db.name
    query = await datasette.get_canned_query(database, name, request.actor)
    if (request.method != "GET" or not query or query.get("write") or "_trace" in args
            or (fmt == "json" and not streamable_json(args))):
        return await datasette_view(request, send)
    permissions = [("view-query", (database, name)), ("view-database", database), "view-instance"]
    visible, private = await datasette.check_visibility(request.actor, permissions=permissions)
    if not visible:
        return await datasette_view(request, send)  # Datasette's own 403
    sql = query["sql"]
    params = query_params(request, query.get("params") or await derive_named_parameters(db, sql))
    headers, encoder_for = await export_format(datasette, request, database, name, sql, params, private)
    streams = datasette.__dict__.get("_nk_streams") or datasette.__dict__.setdefault("_nk_streams", Streams(datasette))
    conn = streams.acquire(db)
    if conn is None:
        return Response.text("Too many downloads at once on this server: please try again in a minute.\n",
                             status=503, headers={"retry-after": "30"})
    rows = RowStream(conn, sql, MagicParameters(params, request, datasette), time_limit_ms(datasette, request.args), encoder_for)
    return await send_rows(rows, streams, conn, request, send, receive, headers, datasette_view)


async def export_format(datasette, request, database, name, sql, params, private):
    """The response headers, and the encoder for the query's columns once they are known."""
    args, base = request.args, base_url(request.scope, datasette.setting("force_https_urls"))
    if request.url_vars["format"] == "csv":
        def blob_url(column, value):
            path = path_with_format(request=request, format="blob", replace_format="csv",
                                    extra_qs={"_blob_column": column, "_blob_hash": hashlib.sha256(value).hexdigest()})
            return datasette.absolute_url(request, path)

        excel = "_bom" in args
        headers = csv_headers(name, excel)

        def encoder_for(columns):
            return CsvEncoder(columns, base, excel, args.get("_header") != "off", blob_url)
    else:
        shape = args.get("_shape", "arrays")
        head = {"ok": True, "database": database, "query_name": name}
        tail = {"query": {"sql": sql, "params": params}, "error": None, "private": private,
                "allow_execute_sql": await datasette.permission_allowed(request.actor, "execute-sql", database, default=True),
                "query_ms": None}
        for key in ("source", "source_url", "license", "license_url"):
            if datasette.metadata(key):
                tail[key] = datasette.metadata(key)
        nl = bool(args.get("_nl")) and shape == "array"
        headers = json_headers(datasette, args, nl)
        infinity = value_as_boolean(args.get("_json_infinity", "0"))

        def encoder_for(columns):
            return JsonEncoder(columns, base, shape, nl, args.getlist("_json"), infinity,
                               head, {"truncated": False, "columns": columns, **tail})
    if datasette.cors:
        headers += [(b"access-control-allow-origin", b"*"), (b"access-control-allow-headers", b"Authorization"),
                    (b"access-control-expose-headers", b"Link")]
    return headers, encoder_for


def csv_headers(name, excel) -> list:
    return [(b"content-type", b"text/csv; charset=utf-8"),
            (b"content-disposition", f'attachment; filename="{file_name(name, excel)}"'.encode())]


def json_headers(datasette, args, nl) -> list:
    """As Datasette's JSON: its content type, and Cache-Control from default_cache_ttl or `_ttl`."""
    headers = [(b"content-type", b"text/plain; charset=utf-8" if nl else b"application/json; charset=utf-8"),
               (b"referrer-policy", b"no-referrer")]
    if datasette.cache_headers:
        ttl = args.get("_ttl")
        ttl = int(ttl) if ttl and ttl.isdigit() else datasette.setting("default_cache_ttl")
        headers.append((b"cache-control", b"no-cache" if ttl == 0 else f"max-age={ttl}".encode()))
    return headers


async def send_rows(rows: RowStream, streams: Streams, conn, request, send, receive, headers, datasette_view):
    """Send the stream: the first chunk decides between a 200 and Datasette's own error; then each chunk is
    read in a slot thread while the one before goes out, and `send` waits while the client's socket is full."""
    loop, started = asyncio.get_running_loop(), time.perf_counter()
    pending = gone = None
    try:
        try:
            body = await loop.run_in_executor(streams.threads, rows.first)
        except sqlite3.Error as e:
            return await first_rows_failed(e, rows.ms, request, send, datasette_view)
        flags = request.scope.get("nk_downloads")
        if flags is not None:
            flags["streamed"] = True  # the download wrapper leaves this response as it is
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": True})
        gone = asyncio.ensure_future(disconnected(receive))
        pending = loop.run_in_executor(streams.threads, rows.next)
        while True:
            body = await pending
            pending = None
            if body is None or gone.done():
                break
            pending = loop.run_in_executor(streams.threads, rows.next)
            await send({"type": "http.response.body", "body": body, "more_body": True})
        if not gone.done():
            tail = rows.encoder.tail((time.perf_counter() - started) * 1000).encode("utf-8")
            await send({"type": "http.response.body", "body": tail, "more_body": False})
    except sqlite3.Error as e:
        # Rows were sent already, so no error page can follow: the response is left unfinished (the server
        # closes the connection without the last chunk), which clients report as an incomplete download.
        sys.stderr.write(f"nk_downloads: {request.path} stopped after the first rows: {e}\n")
    finally:
        if pending is not None:  # the thread still reads this cursor: let it finish before the cursor closes
            await asyncio.gather(pending, return_exceptions=True)
        if gone is not None:
            gone.cancel()
        rows.close()
        streams.release(conn)


async def first_rows_failed(error, limit_ms, request, send, datasette_view):
    """Nothing was sent yet, so the answer is an error as Datasette gives it. JSON: Datasette's view answers
    the request itself (a query stopped by the time limit is asked again with a 1 ms limit, so that its run
    stops at once too). CSV: Datasette's error page, 400, as its table CSV gives, where its query CSV would
    answer an empty 200 (an SQL error) or a 500 (the time limit) that a download would take for a file."""
    interrupted = error.args == ("interrupted",)
    if request.url_vars["format"] == "csv":
        if interrupted:
            raise DatasetteError(f"SQL query took too long: the time limit (sql_time_limit_ms) is {limit_ms} ms.",
                                 title="SQL Interrupted", status=400)
        raise DatasetteError(str(error), title="Invalid SQL", status=400)
    if interrupted:
        query_string = "&".join(p for p in (request.query_string, "_timelimit=1") if p)
        request = Request(dict(request.scope, query_string=query_string.encode("latin-1")), request.receive)
    return await datasette_view(request, send)


async def disconnected(receive):
    """Returns once the client has gone: the stream stops reading rows nobody will receive."""
    while (await receive())["type"] != "http.disconnect":
        pass


# ---- hooks --------------------------------------------------------------------------------------

def header_list(headers, drop, add):
    return [(k, v) for k, v in headers if k.lower() not in drop] + add


async def send_csv(app, scope, receive, send, name, excel, base):
    rewriter, state = CsvRewriter(base), {"ok": False, "bom": excel}

    async def wrapped(event):
        if event["type"] == "http.response.start":
            content_type = dict(event.get("headers") or []).get(b"content-type", b"")
            state["ok"] = (event["status"] == 200 and content_type.startswith((b"text/plain", b"text/csv"))
                           and not scope["nk_downloads"].get("streamed"))
            if state["ok"]:
                event = dict(event, headers=header_list(event.get("headers") or [], {b"content-type", b"content-length", b"content-disposition"},
                                                        csv_headers(name, excel)))
            return await send(event)
        if event["type"] != "http.response.body" or not state["ok"]:
            return await send(event)
        text = rewriter.feed(event.get("body", b"").decode("utf-8"))
        if not event.get("more_body"):
            text += rewriter.close()
        if state["bom"] and (text or not event.get("more_body")):
            text, state["bom"] = BOM + text, False
        await send(dict(event, body=text.encode("utf-8")))

    await app(scope, receive, wrapped)


async def send_json(app, scope, receive, send, base):
    start, chunks = None, []

    async def wrapped(event):
        nonlocal start
        if event["type"] == "http.response.start" and not scope["nk_downloads"].get("streamed"):
            start = event
            return None
        if event["type"] != "http.response.body" or start is None:
            return await send(event)
        chunks.append(event.get("body", b""))
        if event.get("more_body"):
            return None
        body = b"".join(chunks)
        headers = start.get("headers") or []
        if start["status"] == 200 and dict(headers).get(b"content-type", b"").startswith(b"application/json"):
            body = json.dumps(absolute_json(json.loads(body), base), ensure_ascii=False).encode("utf-8")
            headers = header_list(headers, {b"content-length"}, [(b"content-length", str(len(body)).encode())])
        await send(dict(start, headers=headers))
        await send({"type": "http.response.body", "body": body})

    await app(scope, receive, wrapped)


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def downloads(scope, receive, send):
            m = EXPORT.match(scope.get("path", "")) if scope["type"] == "http" else None
            if not m or DATABASE not in datasette.databases or m["database"] != datasette.urls.database(DATABASE):
                return await app(scope, receive, send)
            query = scope.get("query_string", b"").decode("latin-1")
            args = urllib.parse.parse_qs(query)
            if "_trace" in args:  # Datasette's debug view of a CSV is an HTML page
                return await app(scope, receive, send)
            base = base_url(scope, datasette.setting("force_https_urls"))
            # A canned query's export route (stream_query) marks here the responses it wrote itself.
            scope = dict(scope, nk_downloads={})
            if m.group("ext") == "excel":
                response = Response.redirect(excel_location(scope["path"], query))
                return await response.asgi_send(send)
            if m.group("ext") == "csv":
                return await send_csv(app, scope, receive, send, m.group("name"), "_bom" in args, base)
            return await send_json(app, scope, receive, send, base)
        return downloads
    return wrap


@hookimpl
def register_output_renderer():
    # Only for the link: the .excel URL is answered by the ASGI wrapper above before any query runs.
    async def render(request):
        return Response.redirect(excel_location(request.path, request.query_string))
    return {"extension": "excel", "render": render}


def query_route(datasette) -> str | None:
    """The address of every canned query's CSV and JSON (metadata.yml's queries). Tables, arbitrary SQL and
    other formats never reach stream_query: their routes stay Datasette's own."""
    names = sorted((datasette.metadata("queries", database=DATABASE, fallback=False) or {}), key=len, reverse=True)
    if not names:
        return None
    alternatives = "|".join(re.escape(tilde_encode(n)) for n in names)
    # Any database route: datasette-hashed-urls (deploy images) serves the database as /nk_russia-<hash>.
    return rf"^/(?P<database>[^/.]+)/(?P<table>{alternatives})\.(?P<format>csv|json)$"


@hookimpl
def register_routes(datasette):
    datasette_view = TableView.as_view(datasette)  # what answers /<db>/<query>.<format> without this plugin

    async def export(datasette, request, send, receive):
        name = tilde_decode(request.url_vars["table"])
        return await stream_query(datasette, request, send, receive, name, datasette_view)

    async def download(datasette, request):
        name = request.url_vars["name"]
        folder = dist_dir(datasette)
        suffix = Path(name).suffix
        if not DIST_FILE.match(name) or suffix not in DIST_TYPES or folder is None or not (folder / name).is_file():
            raise NotFound(f"No download called {name}")
        headers = {"cache-control": "public, max-age=300"}
        attachment = suffix in (".zip", ".csv")
        return AsgiFileDownload(folder / name, filename=name if attachment else None,
                                content_type=DIST_TYPES[suffix], headers=headers)
    route = query_route(datasette)
    return [(r"^/download/(?P<name>[^/]+)$", download)] + ([(route, export)] if route else [])
