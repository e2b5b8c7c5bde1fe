"""Stage 6, publish: Datasette metadata and the downloadable data package, both from the schema.

- build/metadata.json = metadata.yml (site text, facets, canned queries) + every table's title and
  description and every column's description from data/datapackage.json.
- dist/ = one CSV per table as built (with offsets and document text) + datapackage.json describing them,
  + annotations.jsonld: every excerpt-bearing row as a W3C Web Annotation (plugins/nk_annotations.py,
  the same code that serves /nk_russia/<table>/<id>.jsonld), streamed a row at a time.
"""
import asyncio
import copy
import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from .schema import all_fields, derived_fields, primary_key

DATABASE = "nk_russia"
PLUGINS = Path(__file__).resolve().parent.parent / "plugins"
ANNOTATIONS = "annotations.jsonld"


def merged_metadata(site: dict, pkg: dict, version: str | None = None) -> dict:
    meta = copy.deepcopy(site)
    if version:
        meta["dataset_version"] = version
    tables = meta.setdefault("databases", {}).setdefault(DATABASE, {}).setdefault("tables", {})
    for res in pkg["resources"]:
        table = tables.setdefault(res["name"], {})
        table.setdefault("title", res["title"])
        table.setdefault("description", res["description"])
        table["columns"] = {f["name"]: f["description"] for f in all_fields(res)}
    return meta


def published_package(pkg: dict) -> dict:
    """The source package, with build-added fields declared as ordinary fields."""
    out = copy.deepcopy(pkg)
    for res in out["resources"]:
        schema = res["schema"]
        schema["fields"] = schema["fields"] + schema.pop("derivedFields", [])
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
        writer = csv.writer(f, lineterminator="\n")
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


def write_metadata(site_yaml: Path, pkg: dict, out: Path, version: str | None = None) -> None:
    with open(site_yaml, encoding="utf-8") as f:
        site = yaml.safe_load(f)
    write_json_atomic(out, merged_metadata(site, pkg, version))


if __name__ == "__main__":  # DistExport's process: python -m scripts.publish DB PACKAGE_JSON FOLDER
    db, package_json, folder = sys.argv[1:]
    export_dist(db, json.loads(Path(package_json).read_text(encoding="utf-8")), folder)
    # VmHWM, not getrusage: Linux carries the forking parent's high-water mark across exec into ru_maxrss.
    hwm = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM:"))
    print(json.dumps({"peak_rss_mb": round(int(hwm.split()[1]) / 1024, 1)}))
