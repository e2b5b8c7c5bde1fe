"""Releases on the site: /changes (what changed, by id, in each release), /changes.atom (the same as an
Atom feed), /releases/<version>/<file> (every release stays downloadable: its CSVs, datapackage.json,
SHA256SUMS and a zip rebuilt byte for byte from them), /releases/<version>/<table>/<id> (a row as that
release published it), and on every row page when the row first appeared and last changed.

Templates get `nk_release` (the current release: version, date, links, and a `citation_label`, e.g.
"release 1.0.0 of 2026-12-01") for citations.
The change log itself is built into the database (`releases`, `release_changes`) by scripts/releases.py.
"""
import csv
import io
import json
import re
import weakref
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from datasette import hookimpl
from datasette.utils import tilde_decode
from datasette.utils.asgi import NotFound, Response

DATABASE = "nk_russia"
# Beside plugins/ in the repository and in the deploy images alike.
RELEASES_DIR = Path(__file__).resolve().parent.parent / "releases"
VERSION = r"[0-9]+\.[0-9]+\.[0-9]+"
ATOM = "http://www.w3.org/2005/Atom"
FEED_ENTRIES = 20  # the newest releases in the feed
PAGE_CHANGES = 500  # changes listed per release on /changes; the rest through the release_changes table
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the zip format's earliest date: the same bytes whenever the zip is made
TYPES = {".csv": "text/csv; charset=utf-8", ".json": "application/json; charset=utf-8", ".zip": "application/zip",
         "": "text/plain; charset=utf-8"}


# ---- pure helpers -------------------------------------------------------------------------------

def release_zip(folder: Path, version: str) -> bytes:
    """The release's files (SHA256SUMS aside) in one zip, identical bytes every time: sorted names, fixed
    dates and modes, stored uncompressed (a deflate stream may differ between zlib builds)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:
        for path in sorted(p for p in Path(folder).iterdir() if p.is_file() and p.name != "SHA256SUMS"):
            info = zipfile.ZipInfo(f"nk-russia-{version}/{path.name}", date_time=ZIP_TIME)
            info.external_attr = 0o100644 << 16
            info.create_system = 3
            z.writestr(info, path.read_bytes())
    return buffer.getvalue()


def release_files(version: str, releases_dir: Path = RELEASES_DIR) -> dict:
    """{file name: sha256} of a release as its SHA256SUMS lists them (the zip included); {} when unknown."""
    sums = releases_dir / version / "SHA256SUMS"
    if not re.fullmatch(VERSION, version) or not sums.is_file():
        return {}
    return {name.lstrip("*"): sha for sha, name in (line.split(None, 1) for line in sums.read_text().splitlines() if line.strip())}


def release_row(version: str, table: str, row_id: str, releases_dir: Path = RELEASES_DIR) -> dict | None:
    """A row as the release published it (its CSV), or None."""
    if f"{table}.csv" not in release_files(version, releases_dir):
        return None
    limit = csv.field_size_limit(2 ** 31 - 1)  # a document's text is one cell
    try:
        with open(releases_dir / version / f"{table}.csv", encoding="utf-8", newline="") as f:
            return next((row for row in csv.DictReader(f) if row.get("id") == row_id), None)
    finally:
        csv.field_size_limit(limit)


def row_href(table: str, row_id: str) -> str:
    from datasette.utils import tilde_encode
    return f"/{DATABASE}/{table}/{tilde_encode(row_id)}"


def describe_change(c: dict) -> str:
    """One change in words, for the feed: '<table> <id>: added', '… field: old → new'."""
    where = f"{c['table_name']} {c['row_id']}".strip()
    if c["change"] == "changed":
        return f"{where}: {c['field']}: “{c['old_value']}” → “{c['new_value']}”"
    if c["change"] == "retired":
        why = json.loads(c["new_value"]) if c["new_value"] else {}
        replaced = f", replaced by {why['replaced_by']}" if why.get("replaced_by") else ""
        return f"{where}: retired ({why.get('reason', 'no reason given')}{replaced})"
    if c["change"].startswith("column_"):
        return f"{where}: column {c['field']} {c['change'].split('_')[1]}"
    return f"{where}: {c['change']}"


def release_title(r: dict) -> str:
    if r["level"] == "first":
        return f"Release {r['version']}: first release, {r['rows_added']} rows"
    parts = [f"{r[k]} {label}" for k, label in (("rows_added", "added"), ("rows_removed", "removed"),
                                                 ("rows_changed", "changed"), ("ids_retired", "retired"),
                                                 ("columns_added", "columns added"), ("columns_removed", "columns removed")) if r[k]]
    return f"Release {r['version']} ({(r['level'] or '').upper()}): {', '.join(parts) or 'no row changes'}"


def atom_feed(releases: list[dict], changes: dict, url) -> bytes:
    """An Atom 1.0 document: one entry per release, its changes listed by id. url(path) → absolute URL."""
    ElementTree.register_namespace("", ATOM)

    def sub(parent, tag, text=None, **attrs):
        el = ElementTree.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el
    feed = ElementTree.Element(f"{{{ATOM}}}feed")
    sub(feed, "id", url("/changes.atom"))
    sub(feed, "title", "Russia–North Korea military cooperation dataset: releases and what changed")
    sub(feed, "updated", f"{releases[0]['released_on']}T00:00:00Z" if releases else "1970-01-01T00:00:00Z")
    sub(feed, "link", rel="self", type="application/atom+xml", href=url("/changes.atom"))
    sub(feed, "link", rel="alternate", type="text/html", href=url("/changes"))
    sub(sub(feed, "author"), "name", "The dataset's curators")
    for r in releases[:FEED_ENTRIES]:
        entry = sub(feed, "entry")
        sub(entry, "id", url(f"/changes#v{r['version']}"))
        sub(entry, "title", release_title(r))
        sub(entry, "updated", f"{r['released_on']}T00:00:00Z")
        sub(entry, "link", rel="alternate", type="text/html", href=url(f"/changes#v{r['version']}"))
        if r["zip_name"]:
            sub(entry, "link", rel="enclosure", type="application/zip", href=url(f"/releases/{r['version']}/{r['zip_name']}"))
        listed = changes.get(r["version"], [])
        lines = [describe_change(c) for c in listed]
        if r["level"] == "first":
            lines = [f"First release: {r['rows_added']} rows; every row is new."]
        sub(entry, "summary", "\n".join(lines))
        items = "".join(f"<li>{html_escape(line)}</li>" for line in lines)
        sub(entry, "content", f"<ul>{items}</ul>", type="html")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(feed, encoding="utf-8")


def html_escape(text: str) -> str:
    from markupsafe import escape
    return str(escape(text))


def with_fields(change: dict) -> dict:
    """A change whose old or new value is a whole row (JSON) gets it as (field, value) pairs to list."""
    out = dict(change)
    for side in ("old", "new"):
        value = change[f"{side}_value"]
        whole = change["change"] in ("added", "removed", "retired") and value and value.startswith("{")
        out[f"{side}_fields"] = [(k, v) for k, v in json.loads(value).items() if v not in ("", None)] if whole else None
    return out


def row_history(changes: list[dict], versions: list[str]) -> dict:
    """First appearance, last change and that change's diff, and the releases that published the row, from
    its release_changes and every released version (both oldest first)."""
    released = [c for c in changes if c["released"]]
    first = next((c for c in released if c["change"] == "added"), None)
    gone = next((c for c in released if c["change"] in ("removed", "retired")), None)
    published = versions[versions.index(first["release"]):versions.index(gone["release"]) if gone else None] if first else []
    changed = [c for c in released if c["change"] == "changed"]
    last = changed[-1]["release"] if changed else None
    return {"first": first, "last_release": last, "published_in": published,
            "last_changed_on": changed[-1]["released_on"] if changed else None,
            "last_diff": [c for c in changed if c["release"] == last],
            "unreleased": [c for c in changes if not c["released"]]}


# ---- data access --------------------------------------------------------------------------------

async def rows(datasette, sql: str, params=None) -> list[dict]:
    db = datasette.get_database(DATABASE)
    return [dict(r) for r in (await db.execute(sql, params or [])).rows]


async def has_release_tables(datasette) -> bool:
    return await datasette.get_database(DATABASE).table_exists("release_changes")  # once per worker (nk_schema_cache)


# The database is immutable: the current release is read once per Datasette instance, not on every page.
_current = weakref.WeakKeyDictionary()


async def current_release(datasette) -> dict | None:
    if datasette not in _current:
        _current[datasette] = await read_current_release(datasette)
    return _current[datasette]


async def read_current_release(datasette) -> dict | None:
    if not await has_release_tables(datasette):
        return None
    found = await rows(datasette, "select * from releases where released order by position desc limit 1")
    pending = await rows(datasette, "select 1 from releases where not released")
    if not found:
        return None
    r = found[0]
    return {"version": r["version"], "released_on": r["released_on"], "unreleased_changes": bool(pending),
            "changes_url": f"/changes#v{r['version']}", "files_url": f"/releases/{r['version']}/",
            "zip_url": f"/releases/{r['version']}/{r['zip_name']}", "zip_sha256": r["zip_sha256"],
            "citation_label": f"release {r['version']} of {r['released_on']}"
                              + (" with later changes not yet released" if pending else "")}


async def changes_by_release(datasette, limit: int) -> tuple[list[dict], dict]:
    releases = await rows(datasette, "select * from releases order by released, position desc") if await has_release_tables(datasette) else []
    releases.sort(key=lambda r: (r["released"], -r["position"]))
    listed = {}
    for r in releases:
        if r["level"] != "first":
            listed[r["version"]] = [with_fields(c) for c in await rows(datasette, """
                select * from release_changes where release = ? order by table_name, change, row_id, field limit ?""",
                                              [r["version"], limit])]
    return releases, listed


# ---- hooks --------------------------------------------------------------------------------------

async def changes_page(datasette, request):
    releases, listed = await changes_by_release(datasette, PAGE_CHANGES)
    context = {"releases": releases, "listed": listed, "page_limit": PAGE_CHANGES,
               "files": {r["version"]: sorted(release_files(r["version"])) for r in releases if r["released"]}}
    return Response.html(await datasette.render_template("nk_changes.html", context, request=request))


async def changes_feed(datasette, request):
    releases, listed = await changes_by_release(datasette, PAGE_CHANGES)
    body = atom_feed([r for r in releases if r["released"]], listed, lambda path: datasette.absolute_url(request, path))
    return Response(body, content_type="application/atom+xml; charset=utf-8")


async def release_file(datasette, request):
    version, name = request.url_vars["version"], request.url_vars["name"]
    files = release_files(version)
    if name not in files and not (files and name == "SHA256SUMS"):
        raise NotFound(f"release {version} has no file {name}")
    folder = RELEASES_DIR / version
    body = release_zip(folder, version) if name.endswith(".zip") else (folder / name).read_bytes()
    headers = {"content-disposition": f'attachment; filename="{name}"'} if name.endswith(".zip") else {}
    return Response(body, content_type=TYPES[Path(name).suffix], headers=headers)


async def release_row_page(datasette, request):
    version, table, row_id = request.url_vars["version"], request.url_vars["table"], tilde_decode(request.url_vars["row_id"])
    row = release_row(version, table, row_id)
    if row is None:
        raise NotFound(f"release {version} has no {table} row {row_id}")
    later = await rows(datasette, """
        select c.*, r.released, r.released_on from release_changes c join releases r on r.version = c.release
        where c.table_name = ? and c.row_id = ? and r.position > (select position from releases where version = ?)
        order by r.position, c.field""", [table, row_id, version])
    later = [with_fields(c) for c in later]
    context = {"version": version, "table": table, "row_id": row_id, "row": {k: v for k, v in row.items() if k != "text"},
               "later": later, "current_href": row_href(table, row_id)}
    return Response.html(await datasette.render_template("nk_release_row.html", context, request=request))


async def release_index(datasette, request):
    version = request.url_vars["version"]
    if not release_files(version):
        raise NotFound(f"no release {version}")
    return Response.redirect(f"/changes#v{version}")


@hookimpl
def register_routes():
    return [(r"^/changes$", changes_page), (r"^/changes\.atom$", changes_feed),
            (rf"^/releases/(?P<version>{VERSION})/?$", release_index),
            (rf"^/releases/(?P<version>{VERSION})/(?P<name>[A-Za-z0-9_.-]+)$", release_file),
            (rf"^/releases/(?P<version>{VERSION})/(?P<table>[a-z_]+)/(?P<row_id>[^/]+)$", release_row_page)]


@hookimpl
def extra_template_vars(view_name, table, database, request, datasette):
    async def release_vars():
        out = {"nk_release": await current_release(datasette)}
        if view_name == "row" and database == DATABASE and request is not None and await has_release_tables(datasette):
            row_id = tilde_decode(request.url_vars.get("pks", ""))
            changes = await rows(datasette, """
                select c.*, r.released, r.released_on from release_changes c join releases r on r.version = c.release
                where c.table_name = ? and c.row_id = ? order by r.position, c.field""", [table, row_id])
            versions = [r["version"] for r in await rows(datasette, "select version from releases where released order by position")]
            out["nk_row_history"] = dict(row_history([with_fields(c) for c in changes], versions), table=table, row_id=row_id)
        return out
    return release_vars
