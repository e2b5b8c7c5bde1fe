"""Baseline "the limit for our output": the same tables, indexes, derived tables, coverage, FTS5 index and
facet counts as our build, from the same CSVs, with raw executemany and no checks.

    python -m bench.raw_same_output --data DIR --seeds DIR --out DB [--metadata metadata.yml]

Rows go straight from csv.reader into the typed tables (the same DDL), converted by SQLite in the INSERT;
an excerpt's offsets are its nth occurrence in the seed text, found with str.find and never verified.
Nothing is staged, validated, located with care, sorted or exported (no data package, no inspect file).
The derived tables, coverage, FTS5 index, facet counts and release tables ARE the output, so they come from
the build's own stages. Our build ÷ this is what checking, staging and the data package cost.
"""
import argparse
import csv
import json
import sqlite3
import sys
from pathlib import Path

from scripts import coverage, facets, releases, search, views
from scripts.load import create_table_sql, index_sql
from scripts.schema import derived_fields, fields, load_order, quote_identifier

ROOT = Path(__file__).resolve().parent.parent


def value_sql(field: dict) -> str:
    """A CSV cell as the typed column value: the same conversions as the build's load, done by SQLite."""
    kind = field["type"]
    if kind == "boolean":
        return "CASE ? WHEN 'true' THEN 1 WHEN 'false' THEN 0 END"
    return {"integer": "CAST(NULLIF(?, '') AS INTEGER)", "number": "CAST(NULLIF(?, '') AS REAL)"}.get(kind, "NULLIF(?, '')")


def nth(text: str, excerpt: str, occurrence: str) -> int:
    start = -1
    for _ in range(int(occurrence or 1)):
        start = text.find(excerpt, start + 1)
    return start


def first_day(partial: str):
    """A partial ISO date's first day, as the build's normalised date columns hold it; None when empty."""
    return {4: f"{partial}-01-01", 7: f"{partial}-01", 10: partial}.get(len(partial))


def rows_of(path: Path, res: dict, texts: dict):
    """Each CSV row as the INSERT's parameters: the declared fields, then the derived ones."""
    declared = [f["name"] for f in fields(res)]
    derived = derived_fields(res)
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        index = {name: i for i, name in enumerate(next(reader))}
        picks = [index[n] for n in declared]
        for cells in reader:
            row = [cells[i] for i in picks]
            offsets = None
            for field in derived:
                name = field["name"]
                if field.get("normalisedDate"):
                    row.append(first_day(cells[index[field["normalisedDate"]]]))
                elif name in ("char_start", "char_end"):
                    if offsets is None:
                        text, excerpt = texts.get(cells[index["document_id"]]), cells[index["excerpt"]]
                        occurrence = cells[index["excerpt_occurrence"]] if "excerpt_occurrence" in index else ""
                        start = nth(text, excerpt, occurrence) if text is not None and excerpt else None
                        offsets = (start, None if start is None else start + len(excerpt))
                    row.append(offsets[0] if name == "char_start" else offsets[1])
                else:
                    text = texts[cells[index["id"]]]
                    row.append({"text": text, "char_count": len(text)}[name])
            yield row


def raw_same_output(data_dir: Path, seeds_dir: Path, out: Path, metadata_yaml: Path) -> None:
    pkg = json.loads((data_dir / "datapackage.json").read_text(encoding="utf-8"))
    texts = {p.stem: p.read_text(encoding="utf-8") for p in seeds_dir.glob("*.txt")}
    conn = sqlite3.connect(out)
    for pragma in ("journal_mode = OFF", "synchronous = OFF"):
        conn.execute(f"PRAGMA {pragma}")
    with conn:
        for res in load_order(pkg):
            conn.execute(create_table_sql(res))
            values = [value_sql(f) for f in fields(res)] + ["?" for _ in derived_fields(res)]
            names = ", ".join(quote_identifier(f["name"]) for f in [*fields(res), *derived_fields(res)])
            conn.executemany(f"INSERT INTO {quote_identifier(res['name'])} ({names}) VALUES ({', '.join(values)})",
                             rows_of(data_dir / res["path"], res, texts))
            for sql in index_sql(res):
                conn.execute(sql)
    coverage.write_coverage(conn)
    views.create_views(conn)  # after coverage, as in the build: evidence origins read its sentences
    search.enable_search(conn, pkg)
    facets.write_facet_counts(conn, facets.read_default_facets(metadata_yaml))
    releases.record(conn, pkg, data_dir)  # the release tables (the build's last stage)
    conn.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--seeds", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--metadata", type=Path, default=ROOT / "metadata.yml")
    args = parser.parse_args(argv)
    raw_same_output(args.data, args.seeds, args.out, args.metadata)
    return 0


if __name__ == "__main__":
    sys.exit(main())
