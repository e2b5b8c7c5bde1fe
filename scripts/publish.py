"""Stage 6, publish: Datasette metadata and the downloadable data package, both from the schema.

- build/metadata.json = metadata.yml (site text, facets, canned queries) + every table's title and
  description and every column's description from data/datapackage.json.
- dist/ = one CSV per table as built (with offsets and document text) + datapackage.json describing them
  + the codebook, and all of it zipped (nk_russia-data-package.zip) with its sha256; the site serves
  dist/ at /download/ (plugins/nk_downloads.py). It holds annotations.jsonld too: every excerpt-bearing
  row as a W3C Web Annotation (plugins/nk_annotations.py, the same code that serves
  /nk_russia/<table>/<id>.jsonld), streamed a row at a time.
"""
import asyncio
import copy
import csv
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import yaml
from markupsafe import escape

from .schema import all_fields, category_labels, derived_fields, normalised_dates, primary_key
from .search import ALIASES_TABLE, SPELLINGS_TABLE, fts_table, searchable_columns
from .sidecar import report_peak

DATABASE = "nk_russia"
PLUGINS = Path(__file__).resolve().parent.parent / "plugins"
ANNOTATIONS = "annotations.jsonld"
PACKAGE_ZIP = "nk_russia-data-package.zip"
CODEBOOK = "CODEBOOK.md"
# Fixed member times: the same data gives the same zip, byte for byte, hence the same sha256.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# Instructions to the build inside a derived field's declaration; not part of the published schema.
BUILD_KEYS = {"after", "normalisedDate"}


def merged_metadata(site: dict, pkg: dict, version: str | None = None) -> dict:
    meta = copy.deepcopy(site)
    if version:
        meta["dataset_version"] = version
    # Pages show each categorical code's label (plugins/nk_labels.py); the package is not shipped to the site.
    meta["category_labels"] = category_labels(pkg)
    # A date facet on a partial date (2023 would be read as a Julian day) uses its normalised day (plugins/nk_dates.py).
    meta["normalised_dates"] = {res["name"]: normalised_dates(res) for res in pkg["resources"] if normalised_dates(res)}
    tables = meta.setdefault("databases", {}).setdefault(DATABASE, {}).setdefault("tables", {})
    for res in pkg["resources"]:
        table = tables.setdefault(res["name"], {})
        table.setdefault("title", res["title"])
        table.setdefault("description", res["description"])
        table.setdefault("description_html", description_with_downloads(res["name"], table["description"]))
        table["columns"] = {f["name"]: f["description"] for f in all_fields(res)}
        if searchable_columns(res):
            # The index's content is a view (text + aliases), so Datasette is told which index is the table's.
            table["fts_table"] = fts_table(res["name"])
            # Every column, and rowid: rows are loaded in key order (scripts/load.py), so a table search sorted
            # by rowid lists them in key order too, walked in the index's own order instead of sorting every
            # match (plugins/nk_search.py asks for it).
            table["sortable_columns"] = [f["name"] for f in all_fields(res)] + ["rowid"]
    tables[ALIASES_TABLE] = {
        "hidden": True, "title": "Search aliases",
        "description": "Per indexed row, the spellings of the actors, weapon systems and claims it points at or names, "
                       "added to its full-text index by the build (see the aliases table).",
        "columns": {"table_name": "The indexed table.", "row_rowid": "The row's rowid in that table.",
                    "words": "The spellings added to the row's index."}}
    tables[SPELLINGS_TABLE] = {
        "hidden": True, "title": "Search spellings",
        "description": "Every spelling of each actor, weapon system or claim that has more than one (its name and its aliases); "
                       "search pages mark all of them when one is searched.",
        "columns": {"entity": "The actor, weapon system or claim, as table/id.", "spelling": "One of its spellings."}}
    return meta


def description_with_downloads(table: str, description: str) -> str:
    """A table's description followed by links to all of its rows (Datasette's page links give one page)."""
    whole = f"/{DATABASE}/{table}.csv?_stream=on&amp;_size=max"
    return (f"<p>{escape(description)}</p>\n<p class=\"nk-downloads\">Whole table: "
            f"<a href=\"{whole}\">CSV</a> · <a href=\"{whole}&amp;_bom=1\">CSV for Excel (UTF-8 with BOM)</a> · "
            f"<a href=\"/{DATABASE}/{table}.json?_shape=array&amp;_size=max\">JSON</a> (up to 1,000 rows) · "
            f"every table: <a href=\"/download/{PACKAGE_ZIP}\">data package (zip)</a></p>")


def published_package(pkg: dict) -> dict:
    """The source package, with build-added fields declared as ordinary fields."""
    out = copy.deepcopy(pkg)
    for res in out["resources"]:
        schema = res["schema"]
        schema["fields"] = [{k: v for k, v in f.items() if k not in BUILD_KEYS} for f in all_fields(res)]
        schema.pop("derivedFields", None)
    return out


def write_json_atomic(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.chmod(tmp, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=2, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)


def export_csv(conn, res: dict, path: Path) -> None:
    names = [f["name"] for f in all_fields(res)]
    cols = ", ".join(f'"{n}"' for n in names)
    with open(path, "w", encoding="utf-8", newline="") as f:
        # Every field quoted: CSV sniffers (csvkit's, by default) then see the comma as the delimiter
        # whatever the text holds; a quoted phrase with apostrophes made them guess a space.
        writer = csv.writer(f, lineterminator="\n", quoting=csv.QUOTE_ALL)
        writer.writerow(names)
        writer.writerows(conn.execute(f'SELECT {cols} FROM "{res["name"]}" ORDER BY "{primary_key(res)}"'))


def annotations_module():
    """plugins/nk_annotations.py, which Datasette loads as a plugin: one module builds the annotations for both."""
    if str(PLUGINS) not in sys.path:
        sys.path.insert(0, str(PLUGINS))
    import nk_annotations
    return nk_annotations


def export_annotations(conn, path: Path) -> int:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        return annotations_module().stream(conn, f)


def export_dist(db: str, pkg: dict, folder: str) -> None:
    """Every table of the package as CSV, with the package itself, into folder (an empty directory)."""
    conn = sqlite3.connect(db)  # only read; the build may still be writing other tables (WAL)
    try:
        for res in pkg["resources"]:
            export_csv(conn, res, Path(folder) / res["path"])
        export_annotations(conn, Path(folder) / ANNOTATIONS)
    finally:
        conn.close()
    write_json_atomic(Path(folder) / "datapackage.json", published_package(pkg))


def zip_package(folder: Path, codebook: Path | None) -> None:
    """The codebook beside the package, then every file zipped, with the zip's sha256 (sha256sum's format)."""
    if codebook is not None and codebook.is_file():
        shutil.copyfile(codebook, folder / CODEBOOK)
    zipped = folder / PACKAGE_ZIP
    with zipfile.ZipFile(zipped, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for path in sorted(p for p in folder.iterdir() if p.is_file() and p.name != PACKAGE_ZIP):
            info = zipfile.ZipInfo(f"nk_russia/{path.name}", date_time=ZIP_TIME)
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
            with open(path, "rb") as src, z.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    digest = hashlib.sha256()
    with open(zipped, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    (folder / f"{PACKAGE_ZIP}.sha256").write_text(f"{digest.hexdigest()}  {PACKAGE_ZIP}\n", encoding="utf-8")


class DistExport:
    """export_dist in a process of its own (`python -m scripts.publish`), into a hidden folder beside dist/,
    so that the data package is written on the second core while the build goes on; put in place by
    publish(), or thrown away by discard()."""

    def __init__(self, db: Path, package_json: Path, dist: Path):
        self.dist = Path(dist)
        self.dist.parent.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(dir=self.dist.parent, prefix=f".{self.dist.name}."))
        os.chmod(self.folder, 0o755)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scripts.publish", str(Path(db).resolve()), str(Path(package_json).resolve()), str(self.folder.resolve())],
            cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.peak_rss_mb = None  # the process's own high-water mark, reported by it when done

    def wait(self) -> None:
        out, err = self.process.communicate()
        if self.process.returncode != 0:
            raise RuntimeError(f"writing the data package failed ({self.process.returncode}): {err.decode()[-2000:]}")
        self.peak_rss_mb = json.loads(out)["peak_rss_mb"]

    def publish(self) -> None:
        """Replace dist/ as a whole: never a mix of old and new files."""
        old = self.dist.with_name(f".{self.dist.name}.old")
        if self.dist.exists():
            os.replace(self.dist, old)
        os.replace(self.folder, self.dist)
        shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.communicate()
        shutil.rmtree(self.folder, ignore_errors=True)


def dataset_version(pkg: dict, sha256: str) -> str:
    """The package's version plus the first digits of the database's sha256: cited in every citation."""
    return f"{pkg['version']}+{sha256[:12]}"


def write_inspect(db: Path, out: Path) -> dict:
    """Datasette's inspect file (table counts and the file's sha256), so the immutable site never counts
    rows at start-up; returned as well, for the database's hash."""
    from datasette.cli import inspect_
    data = asyncio.run(inspect_([str(db)], None))
    write_json_atomic(out, data)
    return data


def write_metadata(site_yaml: Path, pkg: dict, out: Path, version: str | None = None, codebook: Path | None = None) -> None:
    from .codebook import render
    with open(site_yaml, encoding="utf-8") as f:
        site = yaml.safe_load(f)
    if codebook and (rendered := render(codebook)):
        site["codebook_html"] = rendered  # the method page shows it (plugins/nk_pages.py)
    write_json_atomic(out, merged_metadata(site, pkg, version))


if __name__ == "__main__":  # DistExport's process: python -m scripts.publish DB PACKAGE_JSON FOLDER
    db, package_json, folder = sys.argv[1:]
    export_dist(db, json.loads(Path(package_json).read_text(encoding="utf-8")), folder)
    zip_package(Path(folder), Path(package_json).parent / CODEBOOK)
    report_peak()
