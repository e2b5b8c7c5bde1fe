"""Build nk_russia.db from data/ and seeds/: read → validate → locate → load → search → publish.

Rows stream from the CSVs into a staging database (a temporary file), are checked there with SQL
generated from the schema, and are copied, typed, into the new database: memory stays flat however
many rows there are. The database is written to a temporary file beside the target and moved into
place only when every stage succeeded, so a failed build leaves the previous database byte-identical.

    python -m scripts.build [--data data] [--seeds seeds] [--out nk_russia.db] [--check-only]
"""
import argparse
import json
import os
import resource
import sqlite3
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from . import coverage, facets, locate, publish, read, releases, rules, search, validate, views
from .load import load_all
from .problems import BuildFailed
from .progress import Progress
from .schema import verbatim_fields

ROOT = Path(__file__).resolve().parent.parent
CACHE_KIB = 16 * 1024  # SQLite page cache per database (KiB): most of the build's memory; more buys little
# Once the tables are loaded, three processes beside the build add their own memory; the stages left (run by the
# same-output baseline with SQLite's default 2 MiB) gain little from more than this.
AFTER_LOAD_CACHE_KIB = 8 * 1024


def temp_file(folder: Path, name: str, suffix: str) -> Path:
    fd, path = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=suffix)
    os.close(fd)
    return Path(path)


@contextmanager
def build_connection(out: Path | None):
    """A connection to `out` (or to memory, to check only) with an empty staging database attached as `stage`.

    Neither file keeps a journal or waits for the disk: an interrupted build leaves only a temporary
    file that is thrown away, never the published database.
    """
    folder = out.parent if out else None
    stage = temp_file(folder, (out.name if out else "check"), ".stage")
    conn = sqlite3.connect(out or ":memory:")
    try:
        conn.execute("ATTACH DATABASE ? AS stage", (str(stage),))
        for schema in ("main", "stage"):
            for pragma in ("journal_mode = OFF", "synchronous = OFF", f"cache_size = -{CACHE_KIB}"):
                conn.execute(f"PRAGMA {schema}.{pragma}")
        yield conn
    finally:
        conn.close()
        stage.unlink(missing_ok=True)


def check(pkg: dict, data_dir: Path, seeds_dir: Path, conn, progress: Progress | None = None) -> dict:
    """Read, validate and locate every table into `stage`; raise BuildFailed listing all problems."""
    progress = progress or Progress(enabled=False)
    problems, staged = [], {}
    bad = {res["name"]: set() for res in pkg["resources"]}  # staging rowids of rows with a problem
    documents = next(res for res in pkg["resources"] if res["name"] == "documents")
    with progress.stage("read", show=False):  # each table's row count and rate are shown instead
        staged["documents"] = read.stage_resource(conn, data_dir, documents, problems, [validate.suspects], progress)
    with progress.stage("seeds"):
        validate.validate_table(conn, staged["documents"], problems, bad["documents"])
        locate.read_seeds(conn, seeds_dir, staged["documents"], problems, bad["documents"])
    text_of = locate.seed_texts(conn)
    for res in pkg["resources"]:
        if res is not documents:
            transforms = [validate.suspects]
            if any(where == "document" for _, where in verbatim_fields(res)):
                transforms.append(locate.offsets(text_of))
            with progress.stage("read", show=False):
                staged[res["name"]] = read.stage_resource(conn, data_dir, res, problems, transforms, progress)
    with progress.stage("validate"):
        for name, source in staged.items():
            if name != "documents":
                validate.validate_table(conn, source, problems, bad[name])
        validate.check_foreign_keys(conn, pkg, staged, problems, bad)
    with progress.stage("locate"):
        for name, source in staged.items():
            locate.locate_unsure(conn, source, text_of, problems, bad[name])
    with progress.stage("cross-table rules"):  # after locate: a figure is read from wording proven to be in its excerpt
        rules.check_table_rules(conn, pkg, staged, problems, bad)
    if problems:
        raise BuildFailed(problems)
    return staged


def write_database(pkg: dict, data_dir: Path, seeds_dir: Path, out: Path, progress: Progress,
                   dist_dir: Path | None = None, facet_defaults: dict | None = None) -> tuple[publish.DistExport | None, releases.Status]:
    """Build `out`; with dist_dir, also the data package, written by a second process once the tables are
    loaded (returned, still to be put in place: only after the database is), and the declared version's
    status against releases/; with facet_defaults (table → default facet columns, from metadata.yml), their
    counts."""
    out.parent.mkdir(parents=True, exist_ok=True)  # a first build into a new folder, as for build/ and dist/
    tmp = temp_file(out.parent, out.name, ".tmp")
    os.chmod(tmp, 0o644)  # mkstemp makes it private; the published file is world-readable
    export = counts = aliases = None
    try:
        with build_connection(tmp) as conn:
            staged = check(pkg, data_dir, seeds_dir, conn, progress)
            with progress.stage("load"):
                load_all(conn, pkg, staged)
            conn.execute("DETACH DATABASE stage")
            conn.execute(f"PRAGMA main.cache_size = -{AFTER_LOAD_CACHE_KIB}")
            conn.execute("PRAGMA main.journal_mode = WAL")  # other processes read the loaded tables while the build writes
            # On the second core, from the loaded tables: the search aliases (Python over every text) while
            # coverage and the derived tables are written here, and the data package.
            aliases = search.SearchAliases(tmp, data_dir / "datapackage.json")
            if dist_dir:
                export = publish.DistExport(tmp, data_dir / "datapackage.json", dist_dir)
            with progress.stage("coverage"):
                coverage.write_coverage(conn)
            with progress.stage("derived tables"):  # after coverage: evidence origins read its sentences
                views.create_views(conn)
            if facet_defaults:  # counted on the second core while the FTS index is written
                counts = facets.FacetCounts(tmp, facet_defaults)
            with progress.stage("search aliases, what is left of them"):
                aliases.merge(conn)
            progress.peaks["search aliases"] = aliases.peak_rss_mb
            with progress.stage("full-text search"), conn:
                search.create_fts(conn, pkg)
            if counts:
                with progress.stage("facet counts, what is left of them"):
                    counts.merge(conn)
                progress.peaks["facet counts"] = counts.peak_rss_mb
            if export:
                with progress.stage("data package (dist/), what is left of it"):
                    export.wait()
                progress.peaks["data package export"] = export.peak_rss_mb
            conn.execute("PRAGMA main.journal_mode = DELETE")  # one self-contained file again
            with progress.stage("releases"):  # refused here, the version leaves every output as it was
                status = releases.record(conn, pkg, data_dir)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())  # written without waiting for the disk: on it before it is published
        os.replace(tmp, out)
        return export, status
    except BaseException:
        for helper in (export, counts, aliases):
            if helper:
                helper.discard()
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            leftover.unlink(missing_ok=True)
        raise


def build(data_dir: Path, seeds_dir: Path, out: Path, metadata_yaml: Path | None = None,
          build_dir: Path | None = None, dist_dir: Path | None = None, progress: Progress | None = None) -> releases.Status:
    progress = progress or Progress(enabled=False)
    pkg = read.read_package(data_dir / "datapackage.json")  # BuildFailed, not a traceback, on a JSON typo
    facet_defaults = facets.read_default_facets(metadata_yaml) if metadata_yaml else None
    export, status = write_database(pkg, data_dir, seeds_dir, out, progress, dist_dir, facet_defaults)
    try:
        if metadata_yaml and build_dir:
            with progress.stage("metadata and inspect file"):
                (inspected,) = publish.write_inspect(out, build_dir / "inspect.json").values()
                publish.write_metadata(metadata_yaml, pkg, build_dir / "metadata.json", publish.dataset_version(pkg, inspected["hash"]),
                                       data_dir / "CODEBOOK.md")
    except BaseException:
        if export:
            export.discard()
        raise
    if export:
        export.publish()
    return status


def check_only(data_dir: Path, seeds_dir: Path, progress: Progress) -> None:
    pkg = read.read_package(data_dir / "datapackage.json")
    with build_connection(None) as conn:
        check(pkg, data_dir, seeds_dir, conn, progress)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    parser.add_argument("--seeds", type=Path, default=ROOT / "seeds")
    parser.add_argument("--out", type=Path, default=ROOT / "nk_russia.db")
    parser.add_argument("--metadata", type=Path, default=ROOT / "metadata.yml")
    parser.add_argument("--build-dir", type=Path, default=ROOT / "build")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--check-only", action="store_true", help="validate and locate, write nothing")
    parser.add_argument("--timings", type=Path, help="write each stage's seconds and the peak memory of each process to this JSON file")
    args = parser.parse_args(argv)
    progress = Progress()
    try:
        if args.check_only:
            check_only(args.data, args.seeds, progress)
        else:
            notice = build(args.data, args.seeds, args.out, args.metadata, args.build_dir, args.dist, progress).notice()
            if notice:
                print(notice, file=sys.stderr)
    except BuildFailed as e:
        print(e.report(), file=sys.stderr)
        return 1
    if args.timings:
        peaks = {"build": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                 "data package export": progress.peaks.get("data package export", 0),
                 "facet counts": progress.peaks.get("facet counts", 0),
                 "search aliases": progress.peaks.get("search aliases", 0)}
        args.timings.write_text(json.dumps({"stages": {k: round(v, 3) for k, v in progress.timings.items()},
                                            "peak_rss_mb": peaks}, indent=2) + "\n")
    print(f"built {args.out}" if not args.check_only else "data/ is valid", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
