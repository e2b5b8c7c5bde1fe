"""Date facets that mean something on partial dates.

Partial dates are stored as written (2023, 2024-06, 2024-06-17). SQLite's date() reads a bare number as a
Julian day, so Datasette's stock `_facet_date=stated_start` would put "2023" in the year -4707. The build
adds a normalised full date beside each partial date (`stated_date`: its first possible day, declared in
data/datapackage.json as "normalisedDate"); a date facet asked of the partial column is redirected to it.
The mapping comes from the metadata (`normalised_dates`, written by scripts/publish.py).
"""
import re
import urllib.parse

from datasette import hookimpl
from datasette.utils.asgi import Response

TABLE_PATH = re.compile(r"^/(?P<database>[^/]+)/(?P<table>[^/.]+)(?:\.(?:json|csv))?$")


def redirected_query(query_string: str, columns: dict[str, str]) -> str | None:
    """The query string with each `_facet_date` on a partial date replaced by its normalised column, or
    None when there is nothing to replace."""
    args = urllib.parse.parse_qsl(query_string, keep_blank_values=True)
    new = [(k, columns.get(v, v) if k == "_facet_date" else v) for k, v in args]
    return urllib.parse.urlencode(new) if new != args else None


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def dates(scope, receive, send):
            m = TABLE_PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
            query = scope.get("query_string", b"").decode("latin-1")
            if m and "_facet_date" in query:
                columns = (datasette.metadata("normalised_dates") or {}).get(urllib.parse.unquote(m.group("table")), {})
                new = redirected_query(query, columns)
                if new is not None:
                    return await Response.redirect(f"{scope['path']}?{new}").asgi_send(send)
            return await app(scope, receive, send)
        return dates
    return wrap
