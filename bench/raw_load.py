"""Baseline "the limit": the same CSVs into plain SQLite tables with executemany, nothing else.

    python -m bench.raw_load --data DIR --out DB
"""
import argparse
import csv
import json
import sqlite3
import sys
from pathlib import Path


def raw_load(data_dir: Path, out: Path) -> None:
    pkg = json.loads((data_dir / "datapackage.json").read_text(encoding="utf-8"))
    conn = sqlite3.connect(out)
    with conn:
        for res in pkg["resources"]:
            with open(data_dir / res["path"], encoding="utf-8", newline="") as f:
                reader = csv.reader(f)
                header = next(reader)
                cols = ", ".join(f'"{c}"' for c in header)
                conn.execute(f'CREATE TABLE "{res["name"]}" ({cols})')
                conn.executemany(f'INSERT INTO "{res["name"]}" VALUES ({", ".join("?" for _ in header)})', reader)
    conn.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    raw_load(args.data, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
