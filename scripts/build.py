"""Build nk_russia.db from data/ and seeds/: read → validate → locate → load → search → publish.

The database is written to a temporary file beside the target and moved into place only when
every stage succeeded, so a failed build leaves the previous database byte-identical.

    python -m scripts.build [--data data] [--seeds seeds] [--out nk_russia.db]
"""
import argparse
import os
import sqlite3
import sys
import tempfile
from pathlib import Path

from . import coverage, locate, publish, read, search, validate, views
from .load import load_all
from .problems import BuildFailed

ROOT = Path(__file__).resolve().parent.parent


def check(pkg: dict, data_dir: Path, seeds_dir: Path) -> dict:
    """Read, validate and locate every table; raise BuildFailed listing all problems."""
    problems = []
    raw = {res["name"]: read.read_resource(data_dir, res, problems) for res in pkg["resources"]}
    paths, columns, known = where = read.locations(raw)  # known: the ids of every row read, valid or not
    typed = validate.validate_all(pkg, raw, problems, where)
    located = locate.locate_all(pkg, typed, seeds_dir, paths, columns, problems, known)
    if problems:
        raise BuildFailed(problems)
    return located


def write_database(pkg: dict, tables: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)  # a first build into a new folder, as for build/ and dist/
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; the published file is world-readable
    try:
        conn = sqlite3.connect(tmp)
        try:
            load_all(conn, pkg, tables)
            views.create_views(conn)
            coverage.write_coverage(conn)
            search.enable_search(conn, pkg)
            conn.execute("VACUUM")
        finally:
            conn.close()
        os.replace(tmp, out)
    except BaseException:
        os.unlink(tmp)
        raise


def build(data_dir: Path, seeds_dir: Path, out: Path, metadata_yaml: Path | None = None,
          build_dir: Path | None = None, dist_dir: Path | None = None) -> None:
    pkg = read.read_package(data_dir / "datapackage.json")  # BuildFailed, not a traceback, on a JSON typo
    tables = check(pkg, data_dir, seeds_dir)
    write_database(pkg, tables, out)
    if metadata_yaml and build_dir:
        publish.write_metadata(metadata_yaml, pkg, build_dir / "metadata.json", publish.dataset_version(pkg, out))
        publish.write_inspect(out, build_dir / "inspect.json")
    if dist_dir:
        conn = sqlite3.connect(f"file:{out}?mode=ro", uri=True)
        try:
            publish.write_dist(conn, pkg, dist_dir)
        finally:
            conn.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    parser.add_argument("--seeds", type=Path, default=ROOT / "seeds")
    parser.add_argument("--out", type=Path, default=ROOT / "nk_russia.db")
    parser.add_argument("--metadata", type=Path, default=ROOT / "metadata.yml")
    parser.add_argument("--build-dir", type=Path, default=ROOT / "build")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--check-only", action="store_true", help="validate and locate, write nothing")
    args = parser.parse_args(argv)
    try:
        if args.check_only:
            check(read.read_package(args.data / "datapackage.json"), args.data, args.seeds)
        else:
            build(args.data, args.seeds, args.out, args.metadata, args.build_dir, args.dist)
    except BuildFailed as e:
        print(e.report(), file=sys.stderr)
        return 1
    print(f"built {args.out}" if not args.check_only else "data/ is valid", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
