"""Stage 4, load: create tables from the schema (types, keys, NOT NULL, enum CHECKs) and fill them,
in SQL, from the validated staging tables: empty cells become NULL, text becomes typed values."""
import sqlite3

from .locate import TEXTS
from .schema import (all_fields, constraints, derived_fields, facet_fields, fields, foreign_keys, load_order, primary_key,
                     quote_identifier, sql_literal, sqlite_type)

# Build-added columns, from the staging row `s` and its seed's text `t` (documents only).
DERIVED_SQL = {"char_start": "s._char_start", "char_end": "s._char_end", "text": "t.text", "char_count": "length(t.text)"}
FROM_TEXT = {"text", "char_count"}


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
    """Indexes for the facet columns and the normalised dates (sorted and date-faceted at any size), each followed
    by the primary key: a filtered table page (`?stance=asserts`) is ordered by the key, and with the key in the
    index SQLite reads the page's rows in order and stops, instead of sorting every match (1.6 s for 650,000
    rows at a million appearances, past the SQL time limit)."""
    table, pk = res["name"], primary_key(res)
    columns = facet_fields(res) + [f["name"] for f in derived_fields(res) if f.get("normalisedDate")]
    return [f"CREATE INDEX {quote_identifier(f'idx_{table}_{col}')} ON {quote_identifier(table)}"
            f"({quote_identifier(col)}, {quote_identifier(pk)})" for col in columns if col != pk]


def typed_sql(field: dict) -> str:
    """The typed value of a raw staged cell, as parse_cell gives it for a valid one."""
    cell = f"s.{quote_identifier(field['name'])}"
    kind = field["type"]
    if kind == "boolean":
        return f"CASE {cell} WHEN 'true' THEN 1 WHEN 'false' THEN 0 END"
    value = f"NULLIF({cell}, '')"
    return {"integer": f"CAST({value} AS INTEGER)", "number": f"CAST({value} AS REAL)"}.get(kind, value)


def normalised_date_sql(start: str) -> str:
    """A partial ISO date (YYYY, YYYY-MM, YYYY-MM-DD, validated) → its first day; NULL when empty."""
    cell = f"s.{quote_identifier(start)}"
    return f"CASE length({cell}) WHEN 4 THEN {cell} || '-01-01' WHEN 7 THEN {cell} || '-01' WHEN 10 THEN {cell} END"


def derived_sql(field: dict) -> str:
    if field.get("normalisedDate"):
        return normalised_date_sql(field["normalisedDate"])
    return DERIVED_SQL[field["name"]]


def copy_sql(res: dict, in_key_order: bool) -> str:
    name = res["name"]
    written = {f["name"] for f in fields(res)}
    columns = [typed_sql(f) if f["name"] in written else derived_sql(f) for f in all_fields(res)]
    texts = f" JOIN {TEXTS} t ON t.id = s.{quote_identifier(primary_key(res))}" if any(
        f["name"] in FROM_TEXT for f in derived_fields(res)) else ""
    # Sorted by primary key so that the same rows give the same file, whatever their CSV order.
    order = "" if in_key_order else f" ORDER BY s.{quote_identifier(primary_key(res))}"
    return f'INSERT INTO main.{quote_identifier(name)} SELECT {", ".join(columns)} FROM stage.{quote_identifier(name)} s{texts}{order}'


def insert_rows(conn: sqlite3.Connection, res: dict, rows: list) -> None:
    """Typed rows ((line, {column: value})) straight into a created table: for tests of later stages."""
    names = [f["name"] for f in all_fields(res)]
    sql = (f"INSERT INTO {quote_identifier(res['name'])} ({', '.join(map(quote_identifier, names))}) "
           f"VALUES ({', '.join('?' for _ in names)})")
    conn.executemany(sql, ([row.get(n) for n in names] for _, row in rows))


def load_all(conn: sqlite3.Connection, pkg: dict, staged: dict) -> None:
    """staged: read.Staged per table, validated (the build stops before this when any problem was found)."""
    for res in load_order(pkg):
        source = staged[res["name"]]
        with conn:
            conn.execute(create_table_sql(res))
            conn.execute(copy_sql(res, source.in_key_order))
            for sql in index_sql(res):
                conn.execute(sql)
