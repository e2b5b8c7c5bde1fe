"""plugins/nk_downloads.py, streamed downloads: a canned query's CSV and JSON hold every row, past
max_returned_rows, on a real Datasette server.

The server serves the generated build (bench.generate, a fixture) with max_returned_rows lowered to 50, so that
the real canned queries return more rows than Datasette would, and four FIXTURE canned queries added to its
metadata for this test only: a row counter of any length, two queries that stall (before their first row,
and after 2,500 rows) and one whose parameter can be malformed.
"""
import http.client
import io
import json
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pandas
import pytest

from scripts.serve import serve_args, settings, start, stop

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "plugins"))
import nk_downloads  # noqa: E402  (a Datasette plugin file, not a package module)

MAX_ROWS = 50
TIME_LIMIT_MS = 1000
COUNTER = "with recursive n(i) as (select 1 union all select i + 1 from n where i < 1000000000)"
FIXTURE_QUERIES = {
    "fixture_counting": {
        "title": "Test fixture: :upto numbered rows",
        "params": ["upto"],
        "sql": "with recursive n(i) as (select 1 union all select i + 1 from n where i < cast(:upto as integer))\n"
               "select i, 'appearances/x-' || i as row, substr(hex(zeroblob(100)), 1, 200) as padding,\n"
               "  case when i % 7 = 0 then null else i * 0.5 end as half from n where i <= cast(:upto as integer)",
    },
    "fixture_stall_before": {"title": "Test fixture: stalls before its first row",
                             "sql": f"{COUNTER}\nselect i from n where i = 1000000000"},
    "fixture_stall_between": {"title": "Test fixture: stalls after 2,500 rows",
                              "sql": f"{COUNTER}\nselect i from n where i <= 2500 or i = 1000000000"},
    "fixture_bad_param": {"title": "Test fixture: fails on malformed JSON", "params": ["doc"],
                          "sql": "select json_extract(:doc, '$.a') as a"},
}
# Real canned queries with more than MAX_ROWS rows in the generated build, and a parameter they need.
REAL_QUERIES = {"troop_estimates_by_source": {}, "russia_to_north_korea": {}, "north_korea_to_russia": {},
                "single_source_claims": {}, "weapon_systems_by_status": {}, "parties_vs_third_parties": {},
                "contested_claims": {}, "troop_estimate_timeline": {}}


@pytest.fixture(scope="module")
def stream_server(generated_build, tmp_path_factory):
    folder = tmp_path_factory.mktemp("stream-server")
    build_dir = folder / "build"
    build_dir.mkdir()
    metadata = json.loads(generated_build["metadata"].read_text(encoding="utf-8"))
    metadata["databases"]["nk_russia"]["queries"].update(FIXTURE_QUERIES)
    (build_dir / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    (build_dir / "inspect.json").write_bytes((generated_build["dir"] / "build" / "inspect.json").read_bytes())
    site = dict(settings(), max_returned_rows=MAX_ROWS, default_page_size=20, sql_time_limit_ms=TIME_LIMIT_MS)
    log_path = folder / "server.log"
    with open(log_path, "wb") as log:
        proc, base = start(serve_args(generated_build["db"], build_dir, None, site_settings=site), log)
        yield {"url": base, "process": proc, "db": generated_build["db"], "queries": metadata["databases"]["nk_russia"]["queries"],
               "log": log_path}
        stop(proc)


def fetch(url: str):
    with urllib.request.urlopen(url, timeout=120) as r:
        return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()


def fetch_error(url: str):
    with pytest.raises(urllib.error.HTTPError) as caught:
        fetch(url)
    return caught.value.code, {k.lower(): v for k, v in caught.value.headers.items()}, caught.value.read()


def sql_rows(db: Path, sql: str, params: dict) -> list[tuple]:
    """The query run on the database file itself, with sqlite3."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute(sql, params).fetchall()


def query_path(name: str, ext: str, **args) -> str:
    return f"/nk_russia/{name}.{ext}" + ("?" + urllib.parse.urlencode(args) if args else "")


def as_text(value) -> str:
    return "" if value is None else str(value)


def unlinked(value: str, base: str) -> str:
    """A link column's absolute URL back to the query's own `table/id`."""
    prefix = base + "/nk_russia/"
    assert value.startswith(prefix), value
    return urllib.parse.unquote(value[len(prefix):])


@pytest.mark.parametrize("name", sorted(REAL_QUERIES))
def test_csv_of_a_canned_query_has_every_row_past_max_returned_rows(stream_server, name):
    base, query = stream_server["url"], stream_server["queries"][name]
    params = {p: "" for p in query.get("params", [])}
    expected = sql_rows(stream_server["db"], query["sql"], params)
    assert len(expected) > MAX_ROWS  # the precondition: Datasette alone would stop at MAX_ROWS
    status, headers, body = fetch(base + query_path(name, "csv", _size="max"))
    assert status == 200 and headers["content-type"] == "text/csv; charset=utf-8"
    assert headers["content-disposition"] == f'attachment; filename="nk_russia-{name}.csv"'
    frame = pandas.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False)
    assert len(frame) == len(expected)
    links = [i for i, c in enumerate(frame.columns) if c in nk_downloads.LINK_COLUMNS]
    got = [tuple(unlinked(v, base) if i in links else v for i, v in enumerate(row)) for row in frame.itertuples(index=False)]
    assert got == [tuple(as_text(v) for v in row) for row in expected]


def test_arbitrary_sql_and_tables_keep_datasettes_own_limits(stream_server):
    base, query = stream_server["url"], stream_server["queries"]["weapon_systems_by_status"]
    _, _, body = fetch(base + "/nk_russia.json?" + urllib.parse.urlencode({"sql": query["sql"], "status": ""}))
    data = json.loads(body)
    assert data["truncated"] is True and len(data["rows"]) == MAX_ROWS
    _, _, body = fetch(base + "/nk_russia/appearances.json?_size=max")
    data = json.loads(body)
    assert len(data["rows"]) == MAX_ROWS and data["next"]


def counting_rows(upto: int) -> list[list]:
    return [[i, f"appearances/x-{i}", "0" * 200, None if i % 7 == 0 else i * 0.5] for i in range(1, upto + 1)]


@pytest.mark.parametrize("upto", [0, 1, 2500])
def test_every_json_shape_parses_and_has_every_row(stream_server, upto):
    """Across chunks (nk_downloads.STREAM_ROWS rows each) and for no row at all."""
    base = stream_server["url"]
    expected = counting_rows(upto)
    for row in expected:
        row[1] = f"{base}/nk_russia/{row[1]}"
    columns = ["i", "row", "padding", "half"]
    objects = [dict(zip(columns, r)) for r in expected]

    def get(**args):
        status, headers, body = fetch(base + query_path("fixture_counting", "json", upto=upto, **args))
        assert status == 200
        return headers, body

    headers, body = get()
    data = json.loads(body)
    assert headers["content-type"] == "application/json; charset=utf-8" and headers["cache-control"] == "max-age=300"
    assert data["ok"] is True and data["truncated"] is False and data["columns"] == columns
    assert data["rows"] == expected and data["query"]["params"]["upto"] == str(upto) and data["query_ms"] > 0
    assert json.loads(get(_shape="objects")[1])["rows"] == objects
    assert json.loads(get(_shape="array")[1]) == objects
    assert json.loads(get(_shape="arrayfirst")[1]) == [r[0] for r in expected]
    headers, body = get(_shape="array", _nl="1")
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert [json.loads(line) for line in body.decode().splitlines()] == objects


def test_json_default_shape_has_datasettes_keys_in_its_order(stream_server):
    """The streamed answer against Datasette's own for the same query under max_returned_rows (arbitrary SQL)."""
    base, query = stream_server["url"], stream_server["queries"]["fixture_counting"]
    ours = json.loads(fetch(base + query_path("fixture_counting", "json", upto=10))[2])
    theirs = json.loads(fetch(base + "/nk_russia.json?" + urllib.parse.urlencode({"sql": query["sql"], "upto": 10}))[2])
    assert list(ours) == list(theirs)
    assert ours["rows"] == theirs["rows"] and ours["columns"] == theirs["columns"]
    assert ours["query_name"] == "fixture_counting" and ours["query"]["sql"] == theirs["query"]["sql"]


def test_big_csv_reads_in_csvkit_and_pandas_and_the_excel_variant_has_a_bom(stream_server, tmp_path):
    base = stream_server["url"]
    upto = 3 * nk_downloads.STREAM_ROWS + 17
    _, _, body = fetch(base + query_path("fixture_counting", "csv", upto=upto, _size="max"))
    path = tmp_path / "counting.csv"
    path.write_bytes(body)
    frame = pandas.read_csv(path)
    assert list(frame["i"]) == list(range(1, upto + 1))
    assert frame["half"].isna().sum() == upto // 7
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "csvstat"), "--count", str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip().endswith(str(upto)), done.stderr[-500:]
    status, headers, excel = fetch(base + query_path("fixture_counting", "csv", upto=upto, _size="max", _bom="1"))
    assert headers["content-disposition"] == 'attachment; filename="nk_russia-fixture_counting-excel.csv"'
    assert excel == "\ufeff".encode() + body


def test_an_error_before_the_first_row_is_datasettes_error(stream_server):
    base, query = stream_server["url"], stream_server["queries"]["fixture_bad_param"]
    assert json.loads(fetch(base + query_path("fixture_bad_param", "json", doc='{"a": 5}'))[2])["rows"] == [[5]]
    status, headers, body = fetch_error(base + query_path("fixture_bad_param", "json", doc="not json"))
    data = json.loads(body)
    theirs = json.loads(fetch_error(base + "/nk_russia.json?" + urllib.parse.urlencode({"sql": query["sql"], "doc": "not json"}))[2])
    assert status == 400 and data["ok"] is False and data["error"] == theirs["error"] == "malformed JSON"
    assert headers["cache-control"] == "no-store"
    status, headers, body = fetch_error(base + query_path("fixture_bad_param", "csv", doc="not json"))
    assert status == 400 and headers["content-type"].startswith("text/html") and b"malformed JSON" in body
    assert "content-disposition" not in headers


@pytest.mark.parametrize("ext", ["json", "csv"])
def test_a_query_that_stalls_before_its_first_row_stops_at_the_time_limit(stream_server, ext):
    started = time.monotonic()
    status, _, body = fetch_error(stream_server["url"] + query_path("fixture_stall_before", ext))
    assert status == 400 and b"SQL Interrupted" in body
    assert time.monotonic() - started < 10 * TIME_LIMIT_MS / 1000  # the whole query would take minutes


def test_a_query_that_stalls_after_rows_were_sent_ends_as_a_broken_download(stream_server):
    """The rows before the stall were sent with a 200; the time limit stops the chunk that stalls and the
    response is left unfinished, which the client reports instead of taking a short file for the whole."""
    started = time.monotonic()
    with urllib.request.urlopen(stream_server["url"] + query_path("fixture_stall_between", "csv"), timeout=120) as r:
        assert r.status == 200
        with pytest.raises(http.client.IncompleteRead) as broken:
            r.read()
    assert broken.value.partial.count(b"\n") > nk_downloads.STREAM_ROWS  # rows had gone out
    assert time.monotonic() - started < 10 * TIME_LIMIT_MS / 1000
    assert fetch(stream_server["url"] + query_path("fixture_counting", "json", upto=3))[0] == 200
    assert "fixture_stall_between.csv stopped after the first rows: interrupted" in stream_server["log"].read_text()


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def streamed_lines(url: str) -> tuple[int, int]:
    """Lines and bytes of a download, read as it comes (the test keeps none of it)."""
    lines = size = 0
    with urllib.request.urlopen(url, timeout=600) as r:
        while block := r.read(1 << 20):
            lines, size = lines + block.count(b"\n"), size + len(block)
    return lines, size


def test_server_memory_does_not_grow_with_the_row_count(stream_server):
    base, pid = stream_server["url"], stream_server["process"].pid
    small, large = 20_000, 400_000
    lines, _ = streamed_lines(base + query_path("fixture_counting", "csv", upto=small))
    assert lines == small + 1
    after_small = peak_rss_mb(pid)
    lines, size = streamed_lines(base + query_path("fixture_counting", "csv", upto=large))
    assert lines == large + 1 and size > 80 * 1024 * 1024
    growth = peak_rss_mb(pid) - after_small
    # Twenty times the rows, 80 MB more to send: the peak grows by a few chunks' worth at most.
    assert growth < 16, f"peak RSS grew by {growth:.1f} MB for {size / 1e6:.0f} MB sent"


def open_stalled_download(base: str, path: str) -> socket.socket:
    """A client that asks for a download, reads its headers and then reads nothing more."""
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    assert sock.recv(12).startswith(b"HTTP/1.1 200")
    return sock


def test_downloads_at_once_are_bounded_and_a_client_that_leaves_frees_its_slot(stream_server):
    base = stream_server["url"]
    endless = query_path("fixture_counting", "csv", upto=100_000_000)
    stalled = [open_stalled_download(base, endless) for _ in range(nk_downloads.MAX_STREAMS)]
    try:
        status, headers, body = fetch_error(base + query_path("fixture_counting", "csv", upto=3))
        assert status == 503 and headers["retry-after"] == "30" and headers["cache-control"] == "no-store"
        # Other pages are served meanwhile: the downloads run in their own threads.
        assert fetch(base + "/nk_russia/claims.json")[0] == 200
    finally:
        for sock in stalled:
            sock.close()
    deadline = time.monotonic() + 30
    while True:
        try:
            status, _, body = fetch(base + query_path("fixture_counting", "csv", upto=3))
            break
        except urllib.error.HTTPError as e:
            assert e.code == 503 and time.monotonic() < deadline, "slots were not freed by clients that left"
            time.sleep(0.5)
    assert status == 200 and body.count(b"\n") == 4


# ---- the encoders, directly ----------------------------------------------------------------------

@pytest.mark.parametrize("shape, nl", [("arrays", False), ("objects", False), ("array", False), ("array", True),
                                       ("arrayfirst", False)])
def test_json_encoder_output_parses_across_chunks_and_when_empty(shape, nl):
    columns = ["id", "row", "x"]
    chunks = [[(1, "claims/a", float("inf")), (2, "quotes/b", None)], [(3, "claims/c~d", "é")]]
    for given in (chunks, []):
        encoder = nk_downloads.JsonEncoder(columns, "https://example.org", shape, nl, head={"ok": True},
                                           tail={"truncated": False, "columns": columns, "query_ms": None})
        text = encoder.head() + "".join(encoder.chunk(c) for c in given) + encoder.tail(1.5)
        rows = [list(r) for chunk in given for r in chunk]
        for r in rows:
            r[1] = nk_downloads.absolute_link(r[1], "https://example.org")
            r[2] = None if r[2] == float("inf") else r[2]
        if nl:
            parsed = [json.loads(line) for line in text.splitlines()]
        else:
            parsed = json.loads(text)
        if shape == "arrayfirst":
            assert parsed == [r[0] for r in rows]
        elif shape == "array":
            assert parsed == [dict(zip(columns, r)) for r in rows]
        else:
            assert parsed["ok"] is True and parsed["query_ms"] == 1.5 and parsed["truncated"] is False
            assert parsed["rows"] == (rows if shape == "arrays" else [dict(zip(columns, r)) for r in rows])


def test_csv_encoder_writes_what_the_rewriter_writes():
    """The streamed CSV and the rewritten Datasette CSV (tables, arbitrary SQL) are one format."""
    columns = ["row", "text", "n"]
    rows = [("appearances/003-ap-01", 'a "quoted", word\nand a line', 1), ("claims/x", None, 2.5)]
    encoder = nk_downloads.CsvEncoder(columns, "http://h")
    streamed = encoder.head() + encoder.chunk(rows[:1]) + encoder.chunk(rows[1:])
    plain = io.StringIO()
    import csv
    csv.writer(plain).writerows([columns, *rows])
    rewriter = nk_downloads.CsvRewriter("http://h")
    assert streamed == rewriter.feed(plain.getvalue()) + rewriter.close()
    assert streamed.startswith('"row","text","n"\r\n"http://h/nk_russia/appearances/003-ap-01"')
