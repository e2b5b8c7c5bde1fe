"""plugins/nk_schema_cache.py: an immutable database's schema is asked about once per worker."""
import asyncio
import re
import sqlite3
import sys

from datasette.app import Datasette
from datasette.database import Database

from .conftest import ROOT, site_instance

sys.path.insert(0, str(ROOT / "plugins"))
import nk_schema_cache  # noqa: E402  (a Datasette plugin file, not a package module)


def test_a_question_is_asked_once_per_argument_and_each_caller_gets_its_own_copy():
    asked = []

    async def primary_keys(table):
        asked.append(table)
        return ["id"]
    remembered = nk_schema_cache.remembered(primary_keys)

    async def run():
        first = await remembered("claims")
        first.append("changed by a caller")
        return first, await remembered("claims"), await remembered("actors")
    first, again, other = asyncio.run(run())
    assert again == ["id"] and other == ["id"] and asked == ["claims", "actors"]


def recorded_work(db: Database) -> list[str]:
    """What the database is asked, as the SQL or the function run in its thread."""
    work = []
    execute, execute_fn = db.execute, db.execute_fn

    async def recording_execute(sql, *args, **kwargs):
        work.append(sql)
        return await execute(sql, *args, **kwargs)

    async def recording_execute_fn(fn):
        work.append(getattr(fn, "__qualname__", repr(fn)))
        return await execute_fn(fn)
    db.execute, db.execute_fn = recording_execute, recording_execute_fn
    return work


def schema_work(work: list[str]) -> list[str]:
    return [w for w in work if "PRAGMA" in w or "sqlite_master" in w and "collate nocase" not in w
            or any(w.startswith(f"Database.{q}.") for q in nk_schema_cache.SCHEMA_QUESTIONS)]


def without_timing(page: str) -> str:
    return re.sub(r"queries took [0-9.]+ ms", "queries took (time)", page)


def test_the_second_table_and_row_page_ask_nothing_about_the_schema(built):
    ds = site_instance(built)
    db = ds.get_database("nk_russia")
    pages = ("/nk_russia/appearances", "/nk_russia/claims/" + sqlite3.connect(built["db"]).execute(
        "select id from claims order by id limit 1").fetchone()[0])

    async def run():
        first = [(await ds.client.get(p)).text for p in pages]
        work = recorded_work(db)
        again = [(await ds.client.get(p)).text for p in pages]
        return first, again, work
    first, again, work = asyncio.run(run())
    assert [without_timing(t) for t in first] == [without_timing(t) for t in again]
    assert work and schema_work(work) == []  # the rows are still read: only the schema is remembered


def test_a_mutable_database_is_asked_every_time(tmp_path):
    path = tmp_path / "fixture-mutable.db"
    sqlite3.connect(path).execute("create table first_fixture (id integer primary key)").connection.close()
    ds = Datasette([str(path)], plugins_dir=str(ROOT / "plugins"))

    async def run():
        await ds.invoke_startup()
        db = ds.get_database("fixture-mutable")
        before = await db.table_names()
        await db.execute_write("create table second_fixture (id integer primary key)")
        await ds.client.get("/fixture-mutable")
        tables = [r[0] for r in await ds.get_database("_internal").execute(
            "select table_name from tables where database_name = 'fixture-mutable'")]
        return before, await db.table_names(), tables
    before, after, internal = asyncio.run(run())
    assert before == ["first_fixture"] and sorted(after) == sorted(internal) == ["first_fixture", "second_fixture"]


def test_a_database_attached_after_the_first_request_is_refreshed_into_internal(built, tmp_path):
    ds = site_instance(built)
    extra = tmp_path / "fixture-extra.db"
    sqlite3.connect(extra).execute("create table fixture_rows (id integer primary key)").connection.close()

    async def run():
        await ds.client.get("/nk_russia/appearances")
        ds.add_database(Database(ds, str(extra), is_mutable=False), name="fixture-extra")
        await ds.client.get("/nk_russia/appearances")
        return [r[0] for r in await ds.get_database("_internal").execute(
            "select table_name from tables where database_name = 'fixture-extra'")]
    assert asyncio.run(run()) == ["fixture_rows"]
