"""Releases: the data package's semantic version checked against what changed since the latest release,
and what changed by stable id (csv-diff), loaded into the database as `releases` and `release_changes`.

releases/<version>/ holds one release as it was published: the dist/ CSVs, its datapackage.json (with
`created`, the release's date) and SHA256SUMS (each file and the zip, which is rebuilt byte for byte from
them, so the repository keeps text only). The change log of every release is recomputed from these
files at each build: the released CSVs are the one record of what a release said.
"""
import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from csv_diff import compare, load_csv

from .problems import BuildFailed, Problem
from .read import display_path
from .schema import all_fields, primary_key, quote_identifier

SEMVER = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
LEVELS = ("patch", "minor", "major")
RETIRED = "retired_ids"  # declared by the checks' issue: id,table_name,reason,replaced_by,retired_on
UNRELEASED = "unreleased"
# The documents' text is the seed file itself, never edited (its sha256 column would change if it were):
# left out of the comparison so that a change log never carries whole articles.
NOT_COMPARED = {"text"}
ZIP_PREFIX = "nk-russia"


def parse_version(text) -> tuple[int, int, int] | None:
    m = SEMVER.fullmatch(text) if isinstance(text, str) else None
    return tuple(int(g) for g in m.groups()) if m else None


def next_version(version: str, level: str) -> str:
    major, minor, patch = parse_version(version)
    return {"major": f"{major + 1}.0.0", "minor": f"{major}.{minor + 1}.0", "patch": f"{major}.{minor}.{patch + 1}"}[level]


def zip_name(version: str) -> str:
    return f"{ZIP_PREFIX}-{version}.zip"


def release_folders(releases_dir: Path) -> list[tuple[str, Path]]:
    """(version, folder) of every release, oldest first."""
    found = [(p.name, p) for p in Path(releases_dir).glob("*/datapackage.json") for p in [p.parent]
             if parse_version(p.name)]
    return sorted(found, key=lambda vp: parse_version(vp[0]))


# ---- snapshots: a release's (or dist/'s) tables as csv-diff reads them --------------------------

@dataclass
class Snapshot:
    package: dict
    tables: dict  # name → {id: {column: text}}
    types: dict  # name → {column: declared type}
    keys: dict = field(default_factory=dict)  # name → primary key column


def read_snapshot(folder: Path) -> Snapshot:
    """The tables of a data package folder (a release, or a dist/ build), keyed by primary key."""
    package = json.loads((Path(folder) / "datapackage.json").read_text(encoding="utf-8"))
    tables, types, keys = {}, {}, {}
    limit = csv.field_size_limit(2 ** 31 - 1)  # a document's text is one cell
    try:
        for res in package["resources"]:
            with open(Path(folder) / res["path"], encoding="utf-8", newline="") as f:
                rows = load_csv(f, key=primary_key(res), dialect="excel")  # never sniffed: always our own CSV
            tables[res["name"]] = {k: {c: v for c, v in row.items() if c not in NOT_COMPARED} for k, row in rows.items()}
            types[res["name"]] = {f["name"]: f["type"] for f in all_fields(res) if f["name"] not in NOT_COMPARED}
            keys[res["name"]] = primary_key(res)
    finally:
        csv.field_size_limit(limit)
    return Snapshot(package, tables, types, keys)


def database_snapshot(conn, pkg: dict) -> Snapshot:
    """The tables just built, as their CSV export (scripts/publish.py) will read: NULL as an empty cell, every
    other value as str() gives it, which is what the csv module writes."""
    tables, types, keys = {}, {}, {}
    for res in pkg["resources"]:
        names = [f["name"] for f in all_fields(res) if f["name"] not in NOT_COMPARED]
        key = primary_key(res)
        cursor = conn.execute(f"SELECT {', '.join(map(quote_identifier, names))} FROM {quote_identifier(res['name'])}")
        rows = ({n: "" if v is None else str(v) for n, v in zip(names, row)} for row in cursor)
        tables[res["name"]] = {row[key]: row for row in rows}
        types[res["name"]] = {f["name"]: f["type"] for f in all_fields(res) if f["name"] not in NOT_COMPARED}
        keys[res["name"]] = key
    return Snapshot(pkg, tables, types, keys)


EMPTY = Snapshot({"resources": []}, {}, {})


# ---- what changed ------------------------------------------------------------------------------

def listed(names, most: int = 3) -> str:
    names = sorted(names)
    return ", ".join(names[:most]) + (", …" if len(names) > most else "")


@dataclass
class TableDiff:
    added: list = field(default_factory=list)  # current rows
    removed: list = field(default_factory=list)  # previous rows
    changed: list = field(default_factory=list)  # (id, {column: [old, new]})
    columns_added: list = field(default_factory=list)
    columns_removed: list = field(default_factory=list)
    retyped: list = field(default_factory=list)  # (column, old type, new type)
    key: str = "id"  # the primary key column

    def ids(self, rows) -> list[str]:
        return [row[self.key] for row in rows]

    def __bool__(self):
        return any((self.added, self.removed, self.changed, self.columns_added, self.columns_removed, self.retyped))


@dataclass
class Diff:
    tables: dict  # name → TableDiff, only the tables where something changed
    retired: list  # retired_ids rows new since the previous release

    def __bool__(self):
        return bool(self.tables or self.retired)

    def level(self) -> tuple[str | None, list[str]]:
        """The bump this diff needs (major, minor, patch or None) and every change, in words, weightiest first."""
        reasons = {level: [] for level in LEVELS}
        retired_ids = {r["id"] for r in self.retired}
        for name, t in sorted(self.tables.items()):
            removed = [i for i in t.ids(t.removed) if i not in retired_ids]
            for what, names, level in (("row(s) removed", removed, "major"), ("column(s) removed", t.columns_removed, "major"),
                                       ("column(s) retyped", [c for c, _, _ in t.retyped], "major"),
                                       ("row(s) added", t.ids(t.added), "minor"),
                                       ("column(s) added", t.columns_added, "minor"),
                                       ("row(s) changed", [k for k, _ in t.changed], "patch")):
                if names:
                    reasons[level].append(f"{name}: {len(names)} {what} ({listed(names)})")
        if self.retired:
            reasons["major"].append(f"{len(self.retired)} id(s) retired ({listed(retired_ids)})")
        level = next((level for level in reversed(LEVELS) if reasons[level]), None)
        return level, [reason for level in reversed(LEVELS) for reason in reasons[level]]


def table_diff(previous: dict, current: dict, old_types: dict, new_types: dict, key: str = "id") -> TableDiff:
    t = TableDiff(key=key, columns_added=[c for c in new_types if c not in old_types],
                  columns_removed=[c for c in old_types if c not in new_types],
                  retyped=[(c, old_types[c], new_types[c]) for c in new_types if c in old_types and old_types[c] != new_types[c]])
    if previous and current:  # csv-diff reads the columns from a first row: both sides need one
        result = compare(previous, current)
        t.added, t.removed = result["added"], result["removed"]
        t.changed = [(c["key"], c["changes"]) for c in result["changed"]]
    else:
        t.added, t.removed = list(current.values()), list(previous.values())
    t.added.sort(key=lambda r: r[key])
    t.removed.sort(key=lambda r: r[key])
    t.changed.sort(key=lambda c: str(c[0]))
    return t


def diff(previous: Snapshot, current: Snapshot) -> Diff:
    tables = {}
    for name in list(current.tables) + [n for n in previous.tables if n not in current.tables]:
        if name == RETIRED:
            continue  # its rows are retirements, reported as such
        # A table new or gone as a whole counts by its rows, not by its columns as well.
        both = name in previous.types and name in current.types
        t = table_diff(previous.tables.get(name, {}), current.tables.get(name, {}),
                       previous.types.get(name, {}) if both else {}, current.types.get(name, {}) if both else {},
                       current.keys.get(name) or previous.keys.get(name) or "id")
        if t:
            tables[name] = t
    before = previous.tables.get(RETIRED, {})
    retired = [row for key, row in sorted(current.tables.get(RETIRED, {}).items()) if key not in before]
    return Diff(tables, retired)


# ---- the declared version ----------------------------------------------------------------------

@dataclass
class Status:
    declared: str
    latest: str | None  # the latest release's version
    level: str | None  # what the changes since it need
    reasons: list
    diff: Diff | None

    @property
    def expected(self) -> str | None:
        return next_version(self.latest, self.level) if self.latest and self.level else self.latest

    @property
    def state(self) -> str:
        """first (nothing released yet), released (the data is the latest release), unreleased (changes,
        version not bumped yet) or ready (changes, version bumped as they need)."""
        if self.latest is None:
            return "first"
        if not self.level:
            return "released"
        return "unreleased" if self.declared == self.latest else "ready"

    def notice(self) -> str | None:
        if self.state != "unreleased":
            return None
        return (f"data/datapackage.json: version {self.declared}: unreleased changes since v{self.latest} "
                f"({self.level.upper()}: {'; '.join(self.reasons)}). To release them, set \"version\" to {self.expected} "
                f"and run make release.")


def version_location(package_path: Path) -> tuple[int, int]:
    """(line, column) of the version's value in datapackage.json, as an editor numbers them."""
    text = Path(package_path).read_text(encoding="utf-8")
    m = re.search(r'"version"\s*:\s*', text)
    if not m:
        return 1, 0
    line = text.count("\n", 0, m.end()) + 1
    return line, m.end() - (text.rfind("\n", 0, m.end()) + 1) + 1


def version_problem(status: Status, package_path: Path, display_path: str) -> Problem | None:
    """Why the declared version does not fit what changed since the latest release, or None."""
    line, column = version_location(package_path)

    def problem(message, fix):
        return Problem(display_path, line, column, "version", message, fix)
    declared, latest = status.declared, status.latest
    if not parse_version(declared):
        return problem(f"{declared!r} is not a semantic version MAJOR.MINOR.PATCH",
                       f"write it as three numbers, e.g. \"{status.expected or '1.0.0'}\"")
    if latest is None or declared == latest:
        return None
    if parse_version(declared) < parse_version(latest):
        return problem(f"version {declared} is older than the latest release {latest} (releases/{latest}/)",
                       f"set \"version\" to {status.expected}")
    if not status.level:
        return problem(f"version {declared} is declared but nothing changed since release {latest}",
                       f"set \"version\" back to {latest}")
    if declared != status.expected:
        return problem(f"version {declared} does not match what changed since release {latest}: "
                       f"{status.level.upper()} ({'; '.join(status.reasons)})",
                       f"set \"version\" to {status.expected} (MAJOR: a column renamed, removed or retyped, or an id "
                       f"retired or removed; MINOR: rows or columns added; PATCH: values corrected)")
    return None


def release_status(declared: str, releases_dir: Path, current: Snapshot) -> Status:
    folders = release_folders(releases_dir)
    if not folders:
        return Status(declared, None, None, [], None)
    latest, folder = folders[-1]
    d = diff(read_snapshot(folder), current)
    level, reasons = d.level()
    return Status(declared, latest, level, reasons, d)


# ---- the change log as rows ----------------------------------------------------------------------

def as_json(row: dict) -> str:
    return json.dumps(row, ensure_ascii=False, sort_keys=False)


def change_rows(release: str, d: Diff) -> list[dict]:
    """One row per added, removed or retired row, per changed field, per added, removed or retyped column."""
    out = []

    def add(table, row_id, change, column=None, old=None, new=None):
        out.append({"id": f"{release}/{table}/{row_id}/{column or change}", "release": release, "table_name": table,
                    "row_id": row_id, "change": change, "field": column, "old_value": old, "new_value": new})
    retired = {(r.get("table_name"), r["id"]): r for r in d.retired}
    for name, t in sorted(d.tables.items()):
        for column in t.columns_added:
            add(name, "", "column_added", column)
        for column in t.columns_removed:
            add(name, "", "column_removed", column)
        for column, old, new in t.retyped:
            add(name, "", "column_retyped", column, old, new)
        for row in t.added:
            add(name, row[t.key], "added", new=as_json(row))
        for row in t.removed:
            r = retired.pop((name, row[t.key]), None)
            add(name, row[t.key], "retired" if r else "removed", old=as_json(row), new=as_json(r) if r else None)
        for row_id, changes in t.changed:
            for column, (old, new) in changes.items():
                add(name, row_id, "changed", column, old, new)
    for (table, row_id), r in sorted(retired.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):  # no row removed with it
        add(table or "", row_id, "retired", new=as_json(r))
    return out


def counts(d: Diff) -> dict:
    return {"rows_added": sum(len(t.added) for t in d.tables.values()),
            "rows_removed": sum(len(t.removed) for t in d.tables.values()) - len(d.retired),
            "rows_changed": sum(len(t.changed) for t in d.tables.values()),
            "ids_retired": len(d.retired),
            "columns_added": sum(len(t.columns_added) for t in d.tables.values()),
            "columns_removed": sum(len(t.columns_removed) for t in d.tables.values())}


def read_sums(folder: Path) -> dict:
    """SHA256SUMS (sha256sum's format) as {file name: sha256}."""
    path = Path(folder) / "SHA256SUMS"
    if not path.exists():
        return {}
    return {name.lstrip("*"): sha for sha, name in (line.split(None, 1) for line in path.read_text().splitlines() if line.strip())}


def history(releases_dir: Path) -> list[dict]:
    """Every release with its diff against the one before (the first against nothing)."""
    out, previous, previous_version = [], EMPTY, None
    for position, (version, folder) in enumerate(release_folders(releases_dir)):
        current = read_snapshot(folder)
        d = diff(previous, current)
        level, _ = d.level()
        out.append({"version": version, "position": position, "previous": previous_version,
                    "released_on": str(current.package.get("created", ""))[:10] or None,
                    "level": level if previous_version else "first", "zip_name": zip_name(version),
                    "zip_sha256": read_sums(folder).get(zip_name(version)), "diff": d})
        previous, previous_version = current, version
    return out


RELEASES_SQL = """CREATE TABLE releases (
  version TEXT PRIMARY KEY, position INTEGER NOT NULL, released INTEGER NOT NULL, released_on TEXT, previous TEXT,
  level TEXT, rows_added INTEGER, rows_removed INTEGER, rows_changed INTEGER, ids_retired INTEGER,
  columns_added INTEGER, columns_removed INTEGER, zip_name TEXT, zip_sha256 TEXT)"""
CHANGES_SQL = """CREATE TABLE release_changes (
  id TEXT PRIMARY KEY, release TEXT NOT NULL REFERENCES releases(version), table_name TEXT NOT NULL, row_id TEXT NOT NULL,
  change TEXT NOT NULL CHECK (change IN ('added', 'removed', 'changed', 'retired', 'column_added', 'column_removed', 'column_retyped')),
  field TEXT, old_value TEXT, new_value TEXT)"""
CHANGES_INDEXES = [("table_name", "row_id"), ("release", "table_name", "change", "row_id"), ("change",)]


def write_tables(conn, releases: list[dict], status: Status) -> None:
    """`releases` (each release, and the unreleased changes as a last pseudo-release) and `release_changes`."""
    entries = [dict(r, released=1) for r in releases]
    if status.state in ("unreleased", "ready"):
        entries.append({"version": UNRELEASED, "position": len(releases), "previous": status.latest, "released_on": None,
                        "level": status.level, "zip_name": None, "zip_sha256": None, "diff": status.diff, "released": 0})
    with conn:
        conn.execute(RELEASES_SQL)
        conn.execute(CHANGES_SQL)
        for columns in CHANGES_INDEXES:
            conn.execute(f"CREATE INDEX idx_release_changes_{'_'.join(columns)} ON release_changes({', '.join(columns)})")
        for e in entries:
            row = {k: v for k, v in e.items() if k != "diff"} | counts(e["diff"])
            conn.execute(f"INSERT INTO releases ({', '.join(map(quote_identifier, row))}) VALUES ({', '.join('?' * len(row))})",
                         list(row.values()))
            conn.executemany("INSERT INTO release_changes VALUES (:id, :release, :table_name, :row_id, :change, :field, "
                             ":old_value, :new_value)", change_rows(e["version"], e["diff"]))


def record(conn, pkg: dict, data_dir: Path) -> Status:
    """The build's stage, once the tables are loaded: check the declared version against releases/ (beside
    data/) and load the change log."""
    releases_dir = Path(data_dir).parent / "releases"
    current = database_snapshot(conn, pkg) if release_folders(releases_dir) else None
    status = release_status(pkg.get("version", ""), releases_dir, current)
    package_path = Path(data_dir) / "datapackage.json"
    problem = version_problem(status, package_path, display_path(package_path))
    if problem:
        raise BuildFailed([problem])
    write_tables(conn, history(releases_dir), status)
    return status
