"""Stage 4, load: create tables from the schema (types, keys, NOT NULL, enum CHECKs) and insert rows."""
import sqlite3

from .schema import all_fields, constraints, facet_fields, foreign_keys, load_order, primary_key, sqlite_type


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def column_sql(field: dict, res: dict) -> str:
    name = field["name"]
    cons = constraints(field)
    parts = [quote_identifier(name), sqlite_type(field)]
    if name == primary_key(res):
        parts.append("PRIMARY KEY")
    if cons.get("required"):
        parts.append("NOT NULL")
    if "enum" in cons:
        values = ", ".join(sql_literal(v) for v in cons["enum"])
        parts.append(f"CHECK ({quote_identifier(name)} IN ({values}))")
    for fk, target, ref in foreign_keys(res):
        if fk == name:
            parts.append(f"REFERENCES {quote_identifier(target)}({quote_identifier(ref)})")
    return " ".join(parts)


def create_table_sql(res: dict) -> str:
    cols = ",\n  ".join(column_sql(f, res) for f in all_fields(res))
    return f"CREATE TABLE {quote_identifier(res['name'])} (\n  {cols}\n)"


def index_sql(res: dict) -> list[str]:
    table = res["name"]
    return [f"CREATE INDEX {quote_identifier(f'idx_{table}_{col}')} ON {quote_identifier(table)}({quote_identifier(col)})"
            for col in facet_fields(res)]


def insert_rows(conn: sqlite3.Connection, res: dict, rows: list) -> None:
    names = [f["name"] for f in all_fields(res)]
    sql = (f"INSERT INTO {quote_identifier(res['name'])} ({', '.join(map(quote_identifier, names))}) "
           f"VALUES ({', '.join('?' for _ in names)})")
    conn.executemany(sql, ([row[n] for n in names] for _, row in rows))


def load_all(conn: sqlite3.Connection, pkg: dict, tables: dict) -> None:
    with conn:
        for res in load_order(pkg):
            conn.execute(create_table_sql(res))
            # Sorted by primary key so that the same rows give the same file, whatever their CSV order.
            rows = sorted(tables[res["name"]], key=lambda item: item[1][primary_key(res)])
            insert_rows(conn, res, rows)
            for sql in index_sql(res):
                conn.execute(sql)
    # Enforcement is off while loading (self-references may point forward); checked once here.
    broken = conn.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"foreign keys broken after validation: {broken[:5]}")
