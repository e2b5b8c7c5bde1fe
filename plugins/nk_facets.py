"""Column facets read from the counts the build precomputed (scripts/facets.py), when they are exact.

Datasette's column facet is a GROUP BY over every row the page selects, on every request. This facet
class replaces it (same type, "column"; same results, same links) and reads instead the build's counts
for the table's default facets: over the whole table, or under one equality filter on one of the
table's default facet columns. Whenever the counts could differ from what Datasette would compute — any
other filter, a search, a `_where`, more values than the build kept — it hands the facet back to
Datasette's own code. Each facet column is counted once, even when the URL asks again for a default one.
"""
from datasette import hookimpl
from datasette.facets import ColumnFacet
from datasette.utils import path_with_added_args, path_with_removed_args

SETS_TABLE = "facet_count_sets"  # scripts/facets.py
# Under a full-text search the build's counts do not apply and Datasette counts each facet over the matches:
# beyond this many matches (a million-row table has tens of thousands for a common word) that is several
# GROUP BYs of ~100 ms per request, so the default facets are reported as not computed, as Datasette reports
# a facet over its time limit, and a narrower search or a facet value gets them back.
SEARCH_FACET_MATCHES = 10_000
COUNTS_TABLE = "facet_counts"
# Query arguments that change neither which rows a table page selects nor how a facet counts them.
NEUTRAL_ARGS = {"_facet", "_sort", "_sort_desc", "_next", "_size", "_labels", "_nolabels", "_col", "_nocol",
                "_nocount", "_nofacet", "_nosuggest", "_shape", "_json", "_json_infinity", "_format", "_ttl",
                "_timelimit", "_trace", "_stream", "_dl", "_extra", "_context", "_offset"}


# ---- pure helpers -------------------------------------------------------------------------------

def the_one_filter(pairs: list[tuple[str, str]]) -> tuple[str, str] | None:
    """('', '') with no filter, (column, value) for exactly one `column=value` or `column__exact=value`
    and nothing else that selects rows; None when the page's rows are selected any other way."""
    filters = []
    for key, value in pairs:
        if key.startswith("_"):
            if key not in NEUTRAL_ARGS and not key.startswith("_facet"):
                return None  # _search, _where, _through, _filter_*, …
            continue
        column, _, op = key.partition("__")
        if op not in ("", "exact"):
            return None
        filters.append((column, value))
    if not filters:
        return ("", "")
    return filters[0] if len(filters) == 1 else None


def unique_configs(configs: list[dict]) -> list[dict]:
    """Each facet column once: the first config for it (metadata's before the URL's) wins."""
    seen, out = set(), []
    for c in configs:
        column = c["config"].get("column") or c["config"]["simple"]
        if column not in seen:
            seen.add(column)
            out.append(c)
    return out


# ---- the facet class ----------------------------------------------------------------------------

async def count_sets(datasette, database: str) -> dict:
    """(table, facet, filter column) → (set id, values kept), read once per process and database."""
    cache = datasette.__dict__.setdefault("_nk_facet_sets", {})
    if database not in cache:
        db = datasette.get_database(database)
        found = {}
        if await db.table_exists(SETS_TABLE):
            rows = (await db.execute(f"select set_id, table_name, facet, filter_column, kept from {SETS_TABLE}")).rows
            found = {(r["table_name"], r["facet"], r["filter_column"]): (r["set_id"], r["kept"]) for r in rows}
        cache[database] = found
    return cache[database]


def site_origin(datasette, request) -> str:
    """Datasette's absolute_url for "/" without its slash: an absolute URL is this and a path. Worked out once
    per facet rather than once per value (urljoin was two thirds of a precomputed facet's time)."""
    return datasette.absolute_url(request, "/")[:-1]


class PrecomputedColumnFacet(ColumnFacet):
    def get_configs(self):
        return unique_configs(super().get_configs())

    async def facet_results(self):
        configs = self.get_configs()
        if not self.table or not configs:
            return await super().facet_results()
        sets = await count_sets(self.ds, self.database)
        flt = the_one_filter(self.get_querystring_pairs())
        facet_size = self.get_facet_size()
        results, timed_out, stock = [], [], []
        for c in configs:
            column = c["config"].get("column") or c["config"]["simple"]
            found = sets.get((self.table, column, flt[0])) if flt else None
            if found and facet_size < found[1]:
                results.append(await self.from_counts(column, c["source"], found[0], flt[1], facet_size))
            else:
                stock.append(c)
        if stock and await self.search_too_broad():
            return results, [c["config"].get("column") or c["config"]["simple"] for c in stock]
        if stock:  # Datasette's own GROUP BY, for these configs only
            self.get_configs = lambda: stock
            more, timed_out = await super().facet_results()
            results += more
        return results, timed_out

    async def search_too_broad(self) -> bool:
        """True for a ?_search= with more than SEARCH_FACET_MATCHES matches (counted no further than that)."""
        search = self.request.args.get("_search")
        if not search or not self.table:
            return False
        db = self.ds.get_database(self.database)
        # As Datasette's own search finds it: the table's fts_table in metadata, else the index on the table.
        fts = (self.ds.table_metadata(self.database, self.table) or {}).get("fts_table") or await db.fts_table(self.table)
        if not fts:
            return False
        sql = (f"select count(*) from (select rowid from [{fts}] where [{fts}] match escape_fts(:search) "
               f"limit {SEARCH_FACET_MATCHES + 1})")
        try:
            return (await db.execute(sql, {"search": search})).rows[0][0] > SEARCH_FACET_MATCHES
        except Exception:
            return False  # Datasette's own search reports a bad query

    async def from_counts(self, column: str, source: str, set_id: int, filter_value: str, facet_size: int) -> dict:
        rows = (await self.ds.execute(
            self.database, f"select value, count from {COUNTS_TABLE} where set_id = ? and filter_value = ? "
                           f"and rank <= ? order by rank", [set_id, filter_value, facet_size + 1])).rows
        shown = rows[:facet_size]
        expanded = await self.ds.expand_foreign_keys(self.database, self.table, column, [r["value"] for r in shown])
        qs_pairs = self.get_querystring_pairs()
        column_qs = f"{column}__exact" if column.startswith("_") else column
        origin = site_origin(self.ds, self.request)
        values = []
        for row in shown:
            selected = (column_qs, str(row["value"])) in qs_pairs
            toggle = (path_with_removed_args(self.request, {column_qs: str(row["value"])}) if selected
                      else path_with_added_args(self.request, {column_qs: row["value"]}))
            values.append({"value": row["value"], "label": expanded.get((column, row["value"]), row["value"]),
                           "count": row["count"], "toggle_url": origin + self.ds.urls.path(toggle),
                           "selected": selected})
        return {"name": column, "type": self.type, "hideable": source != "metadata",
                "toggle_url": self.ds.urls.path(path_with_removed_args(self.request, {"_facet": column})),
                "results": values, "truncated": len(rows) > facet_size, "precomputed": True}


@hookimpl(hookwrapper=True)
def register_facet_classes():
    # Datasette's own column facet is swapped for this one: the other facet types are left as they are.
    outcome = yield
    outcome.force_result([[PrecomputedColumnFacet if klass is ColumnFacet else klass for klass in classes]
                          for classes in outcome.get_result()])
