"""plugins/nk_downloads.py on a real server: every exported CSV opens in csvkit and pandas with their defaults,
files are named, the Excel variant carries a BOM, links are absolute and dist/ is served."""
import concurrent.futures
import hashlib
import io
import json
import subprocess
import urllib.parse
import urllib.request
import zipfile

import pandas
import pytest

from .conftest import ROOT

BIN = ROOT / ".venv" / "bin"


def fetch(url: str):
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()


@pytest.fixture(scope="module")
def exports(live_server, tmp_path_factory):
    """Every table's whole CSV and every canned query's CSV (search with a query), fetched from the server."""
    base = live_server["url"]
    _, _, body = fetch(base + "/nk_russia.json")
    listing = json.loads(body)
    paths = [f"/nk_russia/{t['name']}.csv?_stream=on&_size=max" for t in listing["tables"]]
    paths += [f"/nk_russia/{q['name']}.csv?_size=max" + ("&q=S-400" if q["name"] == "search" else "")
              for q in listing["queries"]]
    folder = tmp_path_factory.mktemp("exports")
    out = []
    for path in paths:
        status, headers, body = fetch(base + path)
        name = urllib.parse.urlsplit(path).path.rsplit("/", 1)[1]
        target = folder / name
        target.write_bytes(body)
        out.append({"path": path, "status": status, "headers": headers, "file": target, "name": name[:-4]})
    return out


def test_every_csv_is_a_named_download(exports):
    assert len(exports) > 20
    for e in exports:
        assert e["status"] == 200, e["path"]
        assert e["headers"]["content-type"] == "text/csv; charset=utf-8", e["path"]
        assert e["headers"]["content-disposition"] == f'attachment; filename="nk_russia-{e["name"]}.csv"', e["path"]


def test_every_csv_passes_csvstat_and_csvsql_with_default_options(exports):
    def run(*args):
        return subprocess.run([str(BIN / args[0]), *map(str, args[1:])], capture_output=True, text=True, timeout=300)

    # csvstat one file at a time (a few at once: the time is the interpreter's start-up), csvsql all in one
    # call; both with their default options, sniffer included.
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        stats = list(pool.map(lambda e: (e, run("csvstat", e["file"])), exports))
    for e, done in stats:
        assert done.returncode == 0 and "Error" not in done.stderr, f"csvstat {e['path']}: {done.stderr[-500:]}"
    done = run("csvsql", *[e["file"] for e in exports])
    assert done.returncode == 0 and "Error" not in done.stderr, done.stderr[-500:]
    assert done.stdout.count("CREATE TABLE") == len(exports)


def test_every_csv_reads_in_pandas_as_the_json_rows(exports, live_server):
    for e in exports:
        frame = pandas.read_csv(e["file"], dtype=str, keep_default_na=False)
        json_path = e["path"].replace(".csv?", ".json?").replace("_stream=on&", "") + "&_shape=array"
        _, _, body = fetch(live_server["url"] + json_path)
        rows = json.loads(body)
        assert len(frame) == len(rows), e["path"]
        if rows:
            assert list(frame.columns) == list(rows[0]), e["path"]


def test_link_columns_are_absolute_in_csv_and_json(live_server):
    base = live_server["url"]
    _, _, body = fetch(base + "/nk_russia/search.csv?q=S-400")
    frame = pandas.read_csv(io.BytesIO(body), dtype=str)
    assert len(frame) and all(v.startswith(base + "/nk_russia/") for v in frame["row"])
    _, _, body = fetch(base + "/nk_russia/search.json?_shape=array&q=S-400")
    links = [r["row"] for r in json.loads(body)]
    assert links and all(v.startswith(base + "/nk_russia/") for v in links)
    status, _, _ = fetch(links[0])  # and they open the row
    assert status == 200


def test_excel_variant_has_a_bom_and_the_same_rows(live_server):
    base = live_server["url"]
    with urllib.request.urlopen(base + "/nk_russia/russia_to_north_korea.excel", timeout=60) as r:
        body, disposition, final = r.read(), r.headers["content-disposition"], r.url
    assert "_bom=1" in final and body.startswith("\ufeff".encode("utf-8"))
    assert disposition == 'attachment; filename="nk_russia-russia_to_north_korea-excel.csv"'
    _, _, plain = fetch(base + "/nk_russia/russia_to_north_korea.csv?_size=max")
    assert body[3:] == plain
    page = fetch(base + "/nk_russia/russia_to_north_korea")[2].decode()
    assert "russia_to_north_korea.excel" in page


def test_whole_table_links_give_every_row(live_server, conn):
    base = live_server["url"]
    page = fetch(base + "/nk_russia/appearances")[2].decode()
    assert "/nk_russia/appearances.csv?_stream=on&amp;_size=max" in page
    _, _, body = fetch(base + "/nk_russia/appearances.csv?_stream=on&_size=max")
    total = conn.execute("select count(*) from appearances").fetchone()[0]
    assert len(pandas.read_csv(io.BytesIO(body))) == total > 50
    _, _, body = fetch(base + "/nk_russia/appearances.json?_shape=array&_size=max")
    assert len(json.loads(body)) == total


def test_data_package_zip_sha256_and_codebook_are_served(live_server, built):
    base = live_server["url"]
    status, headers, zipped = fetch(base + "/download/nk_russia-data-package.zip")
    assert status == 200 and headers["content-type"] == "application/zip"
    _, _, digest = fetch(base + "/download/nk_russia-data-package.zip.sha256")
    assert digest.decode().split() == [hashlib.sha256(zipped).hexdigest(), "nk_russia-data-package.zip"]
    names = zipfile.ZipFile(io.BytesIO(zipped)).namelist()
    assert "nk_russia/datapackage.json" in names and "nk_russia/CODEBOOK.md" in names and "nk_russia/appearances.csv" in names
    _, headers, codebook = fetch(base + "/download/CODEBOOK.md")
    assert codebook == (ROOT / "data" / "CODEBOOK.md").read_bytes() and headers["content-type"].startswith("text/plain")
    with pytest.raises(urllib.error.HTTPError) as missing:
        fetch(base + "/download/nk_russia.db")
    assert missing.value.code == 404
