"""Stage 6, publish: Datasette metadata and the downloadable data package, both from the schema.

- build/metadata.json = metadata.yml (site text, facets, canned queries) + every table's title and
  description and every column's description from data/datapackage.json.
- dist/ = one CSV per table as built (with offsets and document text) + datapackage.json describing them.
"""
import asyncio
import copy
import csv
import json
import os
import shutil
import tempfile
from pathlib import Path

import yaml

from .schema import all_fields, derived_fields, primary_key

DATABASE = "nk_russia"


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


def write_dist(conn, pkg: dict, dist: Path) -> None:
    """Replace dist/ as a whole: never a mix of old and new files."""
    dist = Path(dist)
    staging = Path(tempfile.mkdtemp(dir=dist.parent, prefix=".dist."))
    os.chmod(staging, 0o755)
    try:
        for res in pkg["resources"]:
            export_csv(conn, res, staging / res["path"])
        write_json_atomic(staging / "datapackage.json", published_package(pkg))
        old = dist.with_name(f".{dist.name}.old")
        if dist.exists():
            os.replace(dist, old)
        os.replace(staging, dist)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


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
