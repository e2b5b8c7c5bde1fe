"""Stage 4: tables are created from the schema and loaded, on a temporary database."""
import sqlite3

from scripts.load import create_table_sql, load_all
from scripts.schema import resources


def test_ddl_declares_keys_not_null_and_enum_checks(pkg):
    from scripts.schema import resource
    sql = create_table_sql(resource(pkg, "appearances"))
    assert '"id" TEXT PRIMARY KEY NOT NULL' in sql
    assert 'REFERENCES "claims"("id")' in sql
    assert "CHECK (\"stance\" IN ('asserts'" in sql


def test_rows_load_sorted_by_key_whatever_their_order(pkg, tmp_path):
    tables = {res["name"]: [] for res in resources(pkg)}
    tables["claims"] = [(3, {"id": "b", "claim": "B", "topic": "diplomacy", "direction": None, "subject_id": None}),
                        (2, {"id": "a", "claim": "A", "topic": "diplomacy", "direction": "RU→KP", "subject_id": None})]
    conn = sqlite3.connect(tmp_path / "t.db")
    load_all(conn, pkg, tables)
    assert conn.execute("SELECT id, direction FROM claims ORDER BY rowid").fetchall() == [("a", "RU→KP"), ("b", None)]
