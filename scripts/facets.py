"""Build stage: facet counts, precomputed, for the default facets declared in metadata.yml.

Datasette counts a facet with a GROUP BY over every row the page's filters select, on every request:
at a million appearances, ~100 ms per facet. The database never changes once built, so the build counts
each default facet once — over the whole table, and under each single equality filter on one of the
table's default facet columns (`?stance=denies`, `?speaker_id=kr-nis`: what clicking a facet value or a
row's link gives) — and plugins/nk_facets.py serves those counts. Any other filter, a search, or more
values than kept here, and Datasette counts as it always does.

Per table, facet and filter column, the first KEPT values in Datasette's own order (count descending,
then value) are kept with their exact counts: enough for a facet of up to KEPT - 1 values to know it
was truncated, as Datasette does by asking for one more.
"""
import yaml

from .schema import quote_identifier

KEPT = 101
SETS_TABLE = "facet_count_sets"
COUNTS_TABLE = "facet_counts"


def default_facets(metadata: dict, database: str = "nk_russia") -> dict[str, list[str]]:
    """table → its column facets (plain names; typed facets such as {array: ...} are left to Datasette)."""
    tables = ((metadata.get("databases") or {}).get(database) or {}).get("tables") or {}
    return {name: [f for f in table.get("facets", []) if isinstance(f, str)]
            for name, table in tables.items() if any(isinstance(f, str) for f in table.get("facets", []))}


def read_default_facets(metadata_yaml) -> dict[str, list[str]]:
    return default_facets(yaml.safe_load(metadata_yaml.read_text(encoding="utf-8")) or {})


def count_sets(facets: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    """(table, facet column, filter column or '' for none): each facet unfiltered and under each one
    equality filter on a facet column of the same table (itself included: `?stance=denies` still shows
    the stance facet, with its one value)."""
    return [(table, facet, flt) for table, columns in facets.items()
            for facet in columns for flt in ["", *columns]]


def counts_sql(table: str, facet: str, flt: str) -> str:
    """One set's rows: filter value, rank, value, count — Datasette's facet query, per filter value."""
    t, c = quote_identifier(table), quote_identifier(facet)
    if not flt:
        key, order, where, group = "''", f"ORDER BY count(*) DESC, {c}", f"{c} IS NOT NULL", c
    elif flt == facet:
        key, order, where, group = f"CAST({c} AS TEXT)", f"PARTITION BY {c}", f"{c} IS NOT NULL", c
    else:
        f = quote_identifier(flt)
        key, order, where, group = (f"CAST({f} AS TEXT)", f"PARTITION BY {f} ORDER BY count(*) DESC, {c}",
                                    f"{f} IS NOT NULL AND {c} IS NOT NULL", f"{f}, {c}")
    return (f"SELECT {key} AS filter_value, row_number() OVER ({order}) AS rank, {c} AS value, count(*) AS count "
            f"FROM {t} WHERE {where} GROUP BY {group}")


def existing_columns(conn, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({quote_identifier(table)})")}


def write_facet_counts(conn, facets: dict[str, list[str]]) -> int:
    """Create the two tables and fill them; returns the number of count rows. Facets naming a table or
    column the database lacks are skipped (Datasette reports those itself)."""
    with conn:
        return fill(conn, facets)


def fill(conn, facets: dict[str, list[str]]) -> int:
    conn.execute(f"CREATE TABLE {SETS_TABLE} (set_id INTEGER PRIMARY KEY, table_name TEXT NOT NULL, facet TEXT NOT NULL, "
                 f"filter_column TEXT NOT NULL, kept INTEGER NOT NULL, UNIQUE (table_name, facet, filter_column))")
    # value has no declared type, so each value keeps the type it has in its table (as Datasette's facet returns it)
    conn.execute(f"CREATE TABLE {COUNTS_TABLE} (set_id INTEGER NOT NULL, filter_value TEXT NOT NULL, rank INTEGER NOT NULL, "
                 f"value, count INTEGER NOT NULL, PRIMARY KEY (set_id, filter_value, rank)) WITHOUT ROWID")
    rows = 0
    for set_id, (table, facet, flt) in enumerate(count_sets(facets), start=1):
        if not {facet, flt} - {""} <= existing_columns(conn, table):
            continue
        conn.execute(f"INSERT INTO {SETS_TABLE} VALUES (?, ?, ?, ?, ?)", (set_id, table, facet, flt, KEPT))
        rows += conn.execute(f"INSERT INTO {COUNTS_TABLE} SELECT ?, * FROM ({counts_sql(table, facet, flt)}) "
                             f"WHERE rank <= ?", (set_id, KEPT)).rowcount
    return rows
