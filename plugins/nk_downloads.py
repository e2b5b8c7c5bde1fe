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
"""
import csv
import io
import json
import re
import urllib.parse
from pathlib import Path

from datasette import hookimpl
from datasette.utils import tilde_encode
from datasette.utils.asgi import AsgiFileDownload, NotFound, Response

DATABASE = "nk_russia"
LINK_COLUMNS = {"row", "example_row"}
ROW_REF = re.compile(r"([a-z_]+)/([A-Za-z0-9_.-]+)")
EXPORT = re.compile(rf"^/{DATABASE}(?:/(?P<name>[^/]+?))?\.(?P<ext>csv|json|excel)$")
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
    """'appearances/003-ap-01' → base + '/nk_russia/appearances/003-ap-01'; anything else unchanged."""
    m = ROW_REF.fullmatch(value) if isinstance(value, str) else None
    return f"{base}/{DATABASE}/{m.group(1)}/{tilde_encode(m.group(2))}" if m else value


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
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        for record in csv.reader(io.StringIO(text, newline="")):
            if self.links is None:  # the header
                self.links = [i for i, name in enumerate(record) if name in LINK_COLUMNS]
            else:
                for i in self.links:
                    if i < len(record):
                        record[i] = absolute_link(record[i], self.base)
            writer.writerow(record)
        return out.getvalue()


def absolute_json(data, base: str):
    """Link columns made absolute in any of Datasette's JSON shapes (objects, or arrays with "columns")."""
    if isinstance(data, dict):
        columns = data.get("columns")
        if isinstance(columns, list) and isinstance(data.get("rows"), list):
            links = [i for i, c in enumerate(columns) if c in LINK_COLUMNS]
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


# ---- hooks --------------------------------------------------------------------------------------

def header_list(headers, drop, add):
    return [(k, v) for k, v in headers if k.lower() not in drop] + add


async def send_csv(app, scope, receive, send, name, excel, base):
    rewriter, state = CsvRewriter(base), {"ok": False, "bom": excel}
    disposition = f'attachment; filename="{file_name(name, excel)}"'.encode()

    async def wrapped(event):
        if event["type"] == "http.response.start":
            content_type = dict(event.get("headers") or []).get(b"content-type", b"")
            state["ok"] = event["status"] == 200 and content_type.startswith((b"text/plain", b"text/csv"))
            if state["ok"]:
                event = dict(event, headers=header_list(event.get("headers") or [], {b"content-type", b"content-length", b"content-disposition"},
                                                        [(b"content-type", b"text/csv; charset=utf-8"), (b"content-disposition", disposition)]))
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
        if event["type"] == "http.response.start":
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
            if not m:
                return await app(scope, receive, send)
            query = scope.get("query_string", b"").decode("latin-1")
            args = urllib.parse.parse_qs(query)
            if "_trace" in args:  # Datasette's debug view of a CSV is an HTML page
                return await app(scope, receive, send)
            base = base_url(scope, datasette.setting("force_https_urls"))
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


@hookimpl
def register_routes():
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
    return [(r"^/download/(?P<name>[^/]+)$", download)]
