"""`make release`: cut the release that data/datapackage.json declares, from the data package in dist/.

Writes releases/<version>/ (the dist/ CSVs, datapackage.json with the release's date as `created`,
SHA256SUMS of each file and of the zip) and a CHANGELOG.md entry. Refused, with what to fix, when the
declared version is already released, does not match what changed, or dist/ is not of this version.

    python -m scripts.release [--root .] [--date YYYY-MM-DD]
"""
import argparse
import datetime
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from .problems import BuildFailed, Problem
from .read import display_path
from .releases import EMPTY, Diff, Status, counts, diff, read_snapshot, release_status, version_location, version_problem, zip_name

ROOT = Path(__file__).resolve().parent.parent
CHANGELOG_HEAD = ("# Changelog\n\nEvery release of the data package, newest first. Each is kept in `releases/<version>/` "
                  "(CSVs, datapackage.json, SHA256SUMS); the site serves it at `/releases/<version>/` and lists every "
                  "change by id at `/changes`.\n")


def site_plugin(root: Path):
    """plugins/nk_releases.py, which also makes the zips the site serves: one zip, byte for byte, for both."""
    spec = importlib.util.spec_from_file_location("nk_releases", root / "plugins" / "nk_releases.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def refusal(status: Status, package_path: Path, dist: Path) -> Problem | None:
    line, column = version_location(package_path)
    where = display_path(package_path)
    problem = version_problem(status, package_path, where)
    if problem:
        return problem
    if status.state == "released":
        return Problem(where, line, column, "version", f"nothing changed since release {status.latest}: there is nothing to release",
                       "edit the data first; the version goes up with the changes")
    if status.state == "unreleased":
        return Problem(where, line, column, "version",
                       f"version {status.declared} is already released, and the data changed since "
                       f"({status.level.upper()}: {'; '.join(status.reasons)})",
                       f"set \"version\" to {status.expected}, then run make release again")
    built = json.loads((dist / "datapackage.json").read_text(encoding="utf-8")).get("version")
    if built != status.declared:
        return Problem(display_path(dist / "datapackage.json"), 0, 0, "version",
                       f"dist/ holds version {built}, not {status.declared}", "run make build, then make release")
    return None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def changelog_entry(version: str, date: str, status: Status, diff: Diff, zip_sha: str) -> str:
    lines = [f"## {version} — {date}", ""]
    if status.state == "first":
        per_table = ", ".join(f"{name} {len(t.added)}" for name, t in diff.tables.items())
        lines.append(f"First release: {counts(diff)['rows_added']} rows ({per_table}).")
    else:
        lines.append(f"{status.level.upper()} release since {status.latest}; every change by id at `/changes`.")
        lines += ["", "| table | rows added | rows removed | rows changed | columns added | columns removed |",
                  "| --- | ---: | ---: | ---: | --- | --- |"]
        retired = {r["id"] for r in diff.retired}
        for name, t in sorted(diff.tables.items()):
            removed = len([i for i in t.ids(t.removed) if i not in retired])
            lines.append(f"| {name} | {len(t.added)} | {removed} | {len(t.changed)} | {', '.join(t.columns_added)} | "
                         f"{', '.join(t.columns_removed)} |")
        if diff.retired:
            lines += ["", "Retired ids:", ""]
            lines += [f"- `{r['id']}` ({r.get('table_name', '')}"
                      + (f", replaced by `{r['replaced_by']}`" if r.get("replaced_by") else "") + f"): {r.get('reason', '')}"
                      for r in diff.retired]
    lines += ["", f"Files: `releases/{version}/`; zip `{zip_name(version)}` (sha256 `{zip_sha}`), served at "
                  f"`/releases/{version}/{zip_name(version)}`.", ""]
    return "\n".join(lines) + "\n"


def add_to_changelog(path: Path, entry: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else CHANGELOG_HEAD
    head, sep, rest = text.partition("\n## ")
    path.write_text(head.rstrip("\n") + "\n\n" + entry + (sep.lstrip("\n") + rest if sep else ""), encoding="utf-8")


def cut(root: Path, date: datetime.datetime) -> Path:
    """Write releases/<version>/ and the CHANGELOG entry; returns the release's folder."""
    data, dist, releases_dir = root / "data", root / "dist", root / "releases"
    package_path = data / "datapackage.json"
    declared = json.loads(package_path.read_text(encoding="utf-8")).get("version", "")
    status = release_status(declared, releases_dir, read_snapshot(dist))
    problem = refusal(status, package_path, dist)
    if problem:
        raise BuildFailed([problem])
    target = releases_dir / declared
    releases_dir.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=releases_dir, prefix=f".{declared}."))
    try:
        package = json.loads((dist / "datapackage.json").read_text(encoding="utf-8"))
        package["created"] = date.strftime("%Y-%m-%dT%H:%M:%SZ")
        (folder / "datapackage.json").write_text(json.dumps(package, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        for res in package["resources"]:
            shutil.copyfile(dist / res["path"], folder / res["path"])
        sums = {p.name: sha256(p.read_bytes()) for p in sorted(folder.iterdir())}
        sums[zip_name(declared)] = sha256(site_plugin(root).release_zip(folder, declared))
        (folder / "SHA256SUMS").write_text("".join(f"{sha}  {name}\n" for name, sha in sorted(sums.items())))
        os.chmod(folder, 0o755)
        os.replace(folder, target)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    changes = status.diff if status.diff is not None else diff(EMPTY, read_snapshot(target))  # first: all new
    add_to_changelog(root / "CHANGELOG.md", changelog_entry(declared, date.date().isoformat(), status, changes, sums[zip_name(declared)]))
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--date", type=datetime.date.fromisoformat, help="the release's date (default: today, UTC)")
    args = parser.parse_args(argv)
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    when = datetime.datetime.combine(args.date, datetime.time()) if args.date else now
    try:
        target = cut(args.root, when)
    except BuildFailed as e:
        print("\n".join(str(p) for p in e.problems) + "\nRelease refused: nothing was written.", file=sys.stderr)
        return 1
    print(f"released {display_path(target)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
