"""Retired IDs keep their links: a retired row's page redirects to the row that replaced it.

The build refuses any row that reuses an ID listed in retired_ids (data/retired_ids.csv), so a retired
ID never has a row of its own: its row page (HTML or JSON, `/nk_russia/<table>/<id>[.json]`) answers
301 to the survivor's page in the same format, and the survivor's page says which IDs were merged into
it, when and why. An ID removed with no replacement answers 410 Gone with the reason.

301, not 302: a retirement is permanent (the ID can never come back), so browsers, search engines and
link checkers should update the link. It is sent with `Cache-Control: max-age=86400` so that a
retirement recorded by mistake and corrected in the next release stops redirecting within a day
(a 301 without it is cached by browsers indefinitely). A survivor merged again later redirects in turn,
and the codebook asks curators to point older rows at the last survivor.
"""
import re

from datasette import hookimpl
from datasette.utils import tilde_decode, tilde_encode

DATABASE = "nk_russia"
# A row page, of the database when <db> is its route (datasette.urls.database: /nk_russia, or
# /nk_russia-<hash> under datasette-hashed-urls in the deploy images).
ROW_PAGE = re.compile(r"^(?P<db>/[^/.]+)/(?P<table>[a-z_]+)/(?P<pk>[^/]+?)(?P<format>\.json)?$")
CACHE = "max-age=86400"
SINGULAR = {"documents": "document", "actors": "actor", "claims": "claim", "appearances": "appearance",
            "quotes": "quote", "weapon_systems": "weapon system", "weapon_mentions": "weapon mention",
            "weapon_specs": "specification", "troop_estimates": "troop estimate", "claim_relations": "relation"}


def retired_note(table: str, row: dict) -> str:
    """The sentence a survivor's page shows for one ID merged into it."""
    return f"{row['id']} was merged into this {SINGULAR.get(table, 'row')} on {row['retired_on']}: {row['reason']}"


def gone_note(row: dict) -> str:
    return f"{row['id']} was removed on {row['retired_on']}: {row['reason']}"


def row_page(path: str, database_path: str | None) -> re.Match | None:
    """A row page of the database whose route is database_path (datasette.urls.database), else None."""
    match = ROW_PAGE.match(path)
    return match if match and match["db"] == database_path else None


def redirect_target(match: re.Match, survivor: str, query: bytes) -> str:
    location = f"{match['db']}/{match['table']}/{tilde_encode(survivor)}{match['format'] or ''}"
    return location + (f"?{query.decode('latin-1')}" if query else "")


class Retired:
    """The retired_ids table, read once: the database is immutable."""

    def __init__(self, datasette):
        self.datasette = datasette
        self.rows, self.survivors = None, {}

    async def load(self) -> dict:
        if self.rows is None:
            db = self.datasette.get_database(DATABASE)
            rows = []
            if await db.table_exists("retired_ids"):
                result = await db.execute("select id, table_name, reason, replaced_by, retired_on from retired_ids "
                                          "order by retired_on, id")
                rows = [dict(r) for r in result.rows]
            survivors = {}  # built apart, then set at once: two first requests may both get here
            for r in rows:
                survivors.setdefault((r["table_name"], r["replaced_by"]), []).append(r)
            self.survivors, self.rows = survivors, {(r["table_name"], r["id"]): r for r in rows}
        return self.rows

    async def row(self, table: str, pk: str) -> dict | None:
        return (await self.load()).get((table, pk))

    async def merged_into(self, table: str, pk: str) -> list[dict]:
        await self.load()
        return self.survivors.get((table, pk), [])


def retired_for(datasette) -> Retired:
    if not hasattr(datasette, "_nk_retired"):
        datasette._nk_retired = Retired(datasette)
    return datasette._nk_retired


GONE_PATH = "/-/nk-retired"


def gone_scope(scope: dict, match: re.Match) -> dict:
    """The request, sent on to GONE_PATH: its page is rendered by Datasette like any other, headers and all."""
    path = f"{GONE_PATH}/{match['table']}/{match['pk']}{match['format'] or ''}"
    return dict(scope, path=tilde_decode(path), raw_path=path.encode("latin-1"))


@hookimpl
def asgi_wrapper(datasette):
    retired = retired_for(datasette)

    def wrap(app):
        async def redirect_retired(scope, receive, send):
            if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
                return await app(scope, receive, send)
            match = DATABASE in datasette.databases and row_page(scope["path"], datasette.urls.database(DATABASE))
            row = match and await retired.row(match["table"], tilde_decode(match["pk"]))
            if not row:
                return await app(scope, receive, send)
            if not row["replaced_by"]:
                return await app(gone_scope(scope, match), receive, send)
            location = redirect_target(match, row["replaced_by"], scope.get("query_string", b""))
            await send({"type": "http.response.start", "status": 301,
                        "headers": [(b"location", location.encode("latin-1")), (b"cache-control", CACHE.encode()),
                                    (b"content-type", b"text/plain; charset=utf-8")]})
            await send({"type": "http.response.body", "body": f"{row['id']} was merged into {row['replaced_by']}: {location}\n".encode()})
        return redirect_retired
    return wrap


@hookimpl
def register_routes():
    async def gone(datasette, request):
        from datasette.utils.asgi import NotFound, Response
        table, pk, fmt = request.url_vars["table"], tilde_decode(request.url_vars["pk"]), request.url_vars.get("format")
        row = await retired_for(datasette).row(table, pk)
        if row is None or row["replaced_by"]:
            raise NotFound("Not a removed ID")
        if fmt:
            response = Response.json({"ok": False, "status": 410, "error": gone_note(row)}, status=410)
        else:
            html = await datasette.render_template("nk_retired.html", {
                "retired": row, "note": gone_note(row), "table": table, "singular": SINGULAR.get(table, "row")}, request=request)
            response = Response.html(html, status=410)
        response.headers["cache-control"] = CACHE
        return response
    return [(rf"^{GONE_PATH}/(?P<table>[a-z_]+)/(?P<pk>[^/]+?)(?P<format>\.json)?$", gone)]


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    async def merged_here():
        if view_name != "row" or database != DATABASE or request is None:
            return {}
        pk = tilde_decode(request.url_vars.get("pks", ""))
        rows = await retired_for(datasette).merged_into(table, pk)
        return {"merged_here": [retired_note(table, r) for r in rows]} if rows else {}
    return merged_here
