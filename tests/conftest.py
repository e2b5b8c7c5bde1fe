import asyncio
import csv
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from scripts.build import build
from scripts.schema import load_package

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def pkg():
    return load_package(DATA / "datapackage.json")


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """The real build from data/ and seeds/, into a temporary folder."""
    out = tmp_path_factory.mktemp("built")
    db = out / "nk_russia.db"
    build(DATA, SEEDS, db, ROOT / "metadata.yml", out / "build", out / "dist")
    return {"db": db, "metadata": out / "build" / "metadata.json", "dist": out / "dist", "dir": out}


@pytest.fixture(scope="session")
def generated_build(tmp_path_factory):
    """A synthetic dataset (2,000 appearances, bench.generate) big enough for every status, stance and tie and
    for a claim made over a hundred times, really built like `built`."""
    from bench.generate import generate
    out = tmp_path_factory.mktemp("generated-build")
    generate(2000, out / "src")
    db = out / "nk_russia.db"
    build(out / "src" / "data", out / "src" / "seeds", db, ROOT / "metadata.yml", out / "build")
    return {"db": db, "metadata": out / "build" / "metadata.json", "dir": out}


def site_instance(built):
    """Datasette configured from the same files as `make serve`: settings.json, plugins/, templates/, static/,
    and the build's inspect file (table counts)."""
    from datasette.app import Datasette
    return Datasette(
        immutables=[str(built["db"])],
        inspect_data=json.loads((built["dir"] / "build" / "inspect.json").read_text(encoding="utf-8")),
        metadata=json.loads(built["metadata"].read_text(encoding="utf-8")),
        settings=json.loads((ROOT / "settings.json").read_text(encoding="utf-8")),
        plugins_dir=str(ROOT / "plugins"),
        template_dir=str(ROOT / "templates"),
        static_mounts=[("static", str(ROOT / "static"))],
    )


@pytest.fixture(scope="session")
def generated_site(generated_build):
    """GET a path from the in-process site over `generated_build` (common words match over a thousand rows)."""
    ds = site_instance(generated_build)
    loop = asyncio.new_event_loop()
    yield lambda path: loop.run_until_complete(ds.client.get(path))
    loop.close()


@pytest.fixture(scope="session")
def site(built):
    """GET a path from the in-process site; returns the httpx response."""
    ds = site_instance(built)
    loop = asyncio.new_event_loop()

    def get(path):
        return loop.run_until_complete(ds.client.get(path))

    yield get
    loop.close()


def read_only(db: Path):
    """A read-only connection whose rows are addressable by column name."""
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    c.row_factory = sqlite3.Row
    return c


def tables_read(conn, sql: str, params=None) -> set[str]:
    """The tables a statement reads, as SQLite's authorizer reports them while it runs."""
    read = set()

    def authorizer(action, table, *_):
        if action == sqlite3.SQLITE_READ:
            read.add(table)
        return sqlite3.SQLITE_OK
    conn.set_authorizer(authorizer)
    try:
        conn.execute(sql, params or []).fetchone()
    finally:
        conn.set_authorizer(None)
    return read


@pytest.fixture
def conn(built):
    c = read_only(built["db"])
    yield c
    c.close()


@pytest.fixture
def data_copy(tmp_path):
    """A writable copy of data/ to break on purpose."""
    target = tmp_path / "data"
    shutil.copytree(DATA, target)
    return target


def read_csv(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


def write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def edit_cell(path: Path, row_index: int, column: str, value: str) -> int:
    """Set one cell; returns the 1-based column number of the edited column."""
    header, rows = read_csv(path)
    rows[row_index][column] = value
    write_csv(path, header, rows)
    return header.index(column) + 1


@pytest.fixture(scope="session")
def live_server(built):
    """A real Datasette process on 127.0.0.1, started exactly as `make serve` starts it."""
    from scripts.serve import start_site, stop
    with open(built["dir"] / "server.log", "wb") as log:
        proc, base = start_site(built["db"], built["dir"] / "build", log)
        yield {"url": base, "process": proc}
        stop(proc)


@pytest.fixture
def staging():
    """A connection to an empty database with an empty staging database attached, as the build makes them."""
    from scripts.build import build_connection
    with build_connection(None) as c:
        yield c


def stage_text(conn, pkg, folder: Path, table: str, data, transforms=()):
    """Write data (text or bytes) as <folder>/<table's path> and stream it into the staging database.

    Returns (read.Staged, problems, staged rows as {column: value} with _line)."""
    from scripts.read import stage_resource
    from scripts.schema import resource
    res = resource(pkg, table)
    path = Path(folder) / res["path"]
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    problems = []
    source = stage_resource(conn, folder, res, problems, transforms)
    cursor = conn.execute(f'SELECT * FROM stage."{table}" ORDER BY rowid')
    names = [d[0] for d in cursor.description]
    return source, problems, [dict(zip(names, row)) for row in cursor]


def unrelated_claims(data_dir: Path) -> tuple[str, str]:
    """Two claims no relation in data_dir joins, either way: a relation between them is new, not a duplicate."""
    _, relations = read_csv(data_dir / "claim_relations.csv")
    related = {frozenset((r["claim_id"], r["related_claim_id"])) for r in relations}
    ids = [r["id"] for r in read_csv(data_dir / "claims.csv")[1]]
    return next((a, b) for a in ids for b in ids if a != b and frozenset((a, b)) not in related)
