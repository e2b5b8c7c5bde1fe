"""Build stage: facet counts, precomputed, for the default facets declared in metadata.yml.

Datasette counts a facet with a GROUP BY over every row the page's filters select, on every request:
at a million appearances, ~100 ms per facet. The database never changes once built, so the build counts
each default facet once — over the whole table, and under each single equality filter on one of the
table's default facet columns (`?stance=denies`, `?speaker_id=kr-nis`: what clicking a facet value or a
row's link gives) — and plugins/nk_facets.py serves those counts. Any other filter, a search, or more
values than kept here, and Datasette counts as it always does.

The counts are made by a second process (FacetCounts) that reads the database while the build writes
coverage and the FTS5 index, into a file of its own that the build then copies in: they use the second core.

Per table, facet and filter column, the first KEPT values in Datasette's own order (count descending,
then value) are kept with their exact counts: enough for a facet of up to KEPT - 1 values to know it
was truncated, as Datasette does by asking for one more.
"""
import json
import sys
from pathlib import Path

import yaml

from .schema import quote_identifier
from .sidecar import Sidecar, open_output, report_peak

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


def ranked(key: str, value: str, grouped: str, partition: bool) -> str:
    """Rows (filter value, rank, value, count) from a grouped table, ranked as Datasette orders a facet."""
    window = f"PARTITION BY {key} ORDER BY n DESC, {value}" if partition else f"ORDER BY n DESC, {value}"
    filter_value = f"CAST({key} AS TEXT)" if partition else "''"
    return (f"SELECT * FROM (SELECT {filter_value} AS filter_value, row_number() OVER ({window}) AS rank, "
            f"{value} AS value, n AS count FROM {grouped}) WHERE rank <= {KEPT}")


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
    set_ids = {key: i for i, key in enumerate(count_sets(facets), start=1)}
    rows = 0

    def insert(table: str, facet: str, flt: str, select: str) -> None:
        nonlocal rows
        set_id = set_ids[(table, facet, flt)]
        conn.execute(f"INSERT INTO {SETS_TABLE} VALUES (?, ?, ?, ?, ?)", (set_id, table, facet, flt, KEPT))
        rows += conn.execute(f"INSERT INTO {COUNTS_TABLE} SELECT {set_id}, * FROM ({select})").rowcount

    for table, columns in facets.items():
        present = existing_columns(conn, table)
        columns = [c for c in columns if c in present]  # facets naming a column the table lacks: Datasette reports those
        t = quote_identifier(table)
        for c in columns:  # one GROUP BY gives the facet unfiltered and filtered by its own value
            q = quote_identifier(c)
            conn.execute(f"CREATE TEMP TABLE grouped AS SELECT {q} AS v, count(*) AS n FROM {t} WHERE {q} IS NOT NULL GROUP BY {q}")
            insert(table, c, "", ranked("v", "v", "temp.grouped", partition=False))
            insert(table, c, c, "SELECT CAST(v AS TEXT), 1, v, n FROM temp.grouped")
            conn.execute("DROP TABLE temp.grouped")
        for i, f in enumerate(columns):  # one GROUP BY per pair of columns gives each under the other's filter
            for c in columns[i + 1:]:
                qf, qc = quote_identifier(f), quote_identifier(c)
                conn.execute(f"CREATE TEMP TABLE pairs AS SELECT {qf} AS a, {qc} AS b, count(*) AS n FROM {t} "
                             f"WHERE {qf} IS NOT NULL AND {qc} IS NOT NULL GROUP BY {qf}, {qc}")
                insert(table, c, f, ranked("a", "b", "temp.pairs", partition=True))
                insert(table, f, c, ranked("b", "a", "temp.pairs", partition=True))
                conn.execute("DROP TABLE temp.pairs")
    return rows


class FacetCounts(Sidecar):
    """write_facet_counts in a process of its own (`python -m scripts.facets`): see scripts/sidecar.py."""

    def __init__(self, db: Path, facets: dict[str, list[str]]):
        super().__init__(db, "scripts.facets", json.dumps(facets))

    def merge(self, conn) -> None:
        super().merge(conn, (SETS_TABLE, COUNTS_TABLE))


def count_into(source: Path, out: Path, facets: dict[str, list[str]]) -> None:
    """FacetCounts' process: the counts of `source`'s tables, written to the new database `out`."""
    conn = open_output(source, out)
    try:
        write_facet_counts(conn, facets)
    finally:
        conn.close()


if __name__ == "__main__":  # python -m scripts.facets SOURCE_DB OUT_DB FACETS_JSON
    source_db, out_db, facets_json = sys.argv[1:]
    count_into(Path(source_db), Path(out_db), json.loads(facets_json))
    report_peak()
