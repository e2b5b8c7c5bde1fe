"""Search results highlighted when the page is rendered, never in the data; searches ranked, and counted
no further than a cap.

The `search` query (metadata.yml) and a table's `_search` return clean text, so their CSV and JSON carry
exactly the words of the sources. On an HTML page, each word of the text that begins with a searched
word is wrapped in <mark> after the text has been escaped. The searched words come from the request
(`q` of the search query, `_search` of a table), which Datasette's render_cell hook is not given: an
ASGI wrapper puts them in a context variable for the duration of the request.

Ranking: Datasette's table view answers `_search` in primary-key order and cannot be told otherwise, so a
table page searched and nothing else (the table's own search box) is redirected to the `search` query
(metadata.yml, bm25 order, one page at a time) restricted to that table. JSON and CSV keep Datasette's table
shape. Wherever a `_search` still reaches Datasette's table view, its `select count(*)` of every match (the
slowest part of a search at a million rows) is switched off with `_nocount=1`, and the page shows instead a
count that stops at COUNT_CAP, said as such; so does the search query's page.
"""
import contextvars
import functools
import re
import urllib.parse
import weakref

from datasette import hookimpl
from datasette.filters import Filters
from datasette.plugins import pm
from datasette.utils import await_me_maybe, escape_fts, escape_sqlite
from datasette.utils.asgi import Response
from datasette.views.base import ureg
from markupsafe import Markup, escape

# Columns that hold the words a search matches (the search query's snippet, the tables' indexed text).
TEXT_COLUMNS = {"snippet", "excerpt", "claim", "quote", "original_wording", "text", "headline", "label"}
SEARCH_PARAMETERS = ("q", "_search")
DATABASE = "nk_russia"
SPELLINGS_TABLE = "search_spellings"  # written by scripts/search.py
FTS_SOURCE_SUFFIX = "_fts_source"  # scripts/search.py source_view()
MAX_TERMS = 10  # a pasted paragraph is still searched, but only its first words are highlighted
PREFIX_MIN = 3
WORD = re.compile(r"\w+")
SEARCH_QUERY = "search"  # the ranked search (metadata.yml); its `in` names one table to search
COUNT_CAP = 1000  # matches counted at most: past this, "more than 1,000"
# Matches the search query ranks per index at most (its `limit 1000` in metadata.yml): past this, the page
# says that the first ones were ranked.
POOL = 1000
COUNT_TIME_LIMIT_MS = 200  # a search narrowed by filters may have to read every match to count them
# A table page, also under datasette-hashed-urls' /nk_russia-<hash>/ prefix, in any format.
TABLE_PATH = re.compile(rf"^/(?P<db>{DATABASE}(?:-[0-9a-f]{{6,}})?)/(?P<table>[^/.]+)(?P<ext>\.[a-z]+)?$")
# The count switch this plugin adds itself changes nothing a ranked search would show (nor does any argument
# sent empty).
NEUTRAL_ARGS = {"_nocount"}

_terms = contextvars.ContextVar("nk_search_terms", default=((), ()))
_groups = weakref.WeakKeyDictionary()  # Datasette instance → spelling groups, read once from the database


async def spelling_groups(datasette) -> list[list[str]]:
    key = datasette
    if key not in _groups:
        try:
            rows = (await datasette.get_database(DATABASE).execute(
                f"select entity, spelling from {SPELLINGS_TABLE} order by rowid")).rows
        except Exception:  # a database built before the table existed: plain words only
            rows = []
        groups = {}
        for entity, spelling in rows:
            groups.setdefault(entity, []).append(spelling)
        _groups[key] = list(groups.values())
    return _groups[key]


def search_terms(query_string: str) -> tuple[str, ...]:
    """The distinct words searched for, from a request's query string (FTS operators are not words)."""
    params = urllib.parse.parse_qs(query_string, keep_blank_values=False)
    words = [w for name in SEARCH_PARAMETERS for value in params.get(name, []) for w in WORD.findall(value)]
    words = [w for w in dict.fromkeys(w.casefold() for w in words) if w not in {"and", "or", "not", "near"}]
    return tuple(words[:MAX_TERMS])


def variant_phrases(query_string: str, groups: list[list[str]]) -> tuple[str, ...]:
    """Every spelling of each entity one of whose spellings the search names ("S400" → "S-400", …)."""
    params = urllib.parse.parse_qs(query_string)
    searched = " ".join(WORD.findall(" ".join(v for n in SEARCH_PARAMETERS for v in params.get(n, [])).casefold()))
    if not searched:
        return ()
    found = [s for group in groups if any(f" {' '.join(WORD.findall(v.casefold()))} " in f" {searched} " for v in group)
             for s in group]
    return tuple(dict.fromkeys(found))


@functools.lru_cache(maxsize=256)
def term_pattern(terms: tuple[str, ...], phrases: tuple[str, ...] = ()):
    """Whole words starting with a searched word ("Zelensky" also marks "Zelenskyy"); a word shorter than
    PREFIX_MIN only as itself (the "S" of "S-400" must not mark every word that starts with s)."""
    if not terms and not phrases:
        return None
    # Phrases first (longest first), so that "S-400" is marked whole rather than as "S" and "400".
    alternatives = [re.escape(p) + r"\b" for p in sorted(phrases, key=len, reverse=True)]
    alternatives += [re.escape(t) + (r"\w*" if len(t) >= PREFIX_MIN else r"\b") for t in sorted(terms, key=len, reverse=True)]
    return re.compile(r"\b(?:" + "|".join(alternatives) + ")", re.IGNORECASE)


def highlight(text: str, pattern) -> Markup | None:
    """text escaped, with the matching words in <mark>; None when nothing matches (Datasette renders it)."""
    pieces, last = [], 0
    for m in pattern.finditer(text):
        pieces += [escape(text[last:m.start()]), Markup("<mark>"), escape(m.group(0)), Markup("</mark>")]
        last = m.end()
    if not pieces:
        return None
    pieces.append(escape(text[last:]))
    return Markup("").join(pieces)


def ranked_search_location(path: str, query_string: str, searchable: dict[str, str]) -> str | None:
    """The ranked search restricted to the table, for an HTML table page that asks for a search and nothing
    else; None for anything else (a sort, a filter, a facet, a page size, JSON or CSV, raw FTS syntax).
    `searchable`: each table with a full-text index → the column its page is sorted by when none is asked."""
    m = TABLE_PATH.match(path)
    table = urllib.parse.unquote(m["table"]) if m else None
    if not m or m["ext"] or table not in searchable:
        return None
    args = urllib.parse.parse_qsl(query_string, keep_blank_values=True)
    given = dict(args)
    # The table page's form sends its sort list as shown (the default sort selected, ascending) and its
    # unused filter row's comparison (`_filter_op=exact`): neither asks for anything.
    kept = [(k, v) for k, v in args if v.strip() and k not in NEUTRAL_ARGS
            and not (k == "_sort" and v == searchable[table] and "_sort_by_desc" not in given)
            and not (k.startswith("_filter_op") and not given.get(k.replace("_op", "_column", 1), "").strip())
            and not (k == "_searchmode" and v == "escaped")]
    if [k for k, _ in kept] != ["_search"]:
        return None
    return f"/{m['db']}/{SEARCH_QUERY}?" + urllib.parse.urlencode({"q": kept[0][1], "in": table})


def without_blank_search(path: str, query_string: str) -> str | None:
    """The query string without a blank `_search` (the table's search box sent empty), which Datasette would
    hand to FTS5 as an empty query, a syntax error; None when there is none."""
    args = urllib.parse.parse_qsl(query_string, keep_blank_values=True)
    kept = [(k, v) for k, v in args if not (k == "_search" and not v.strip())]
    return urllib.parse.urlencode(kept) if TABLE_PATH.match(path) and kept != args else None


def without_full_count(path: str, query_string: str) -> str | None:
    """The query string with `_nocount=1` for a table request that searches, else None."""
    m = TABLE_PATH.match(path)
    args = urllib.parse.parse_qs(query_string)
    if not m or not any(k.startswith("_search") and k != "_searchmode" for k in args) or "_nocount" in args:
        return None
    return query_string + ("&" if query_string else "") + "_nocount=1"


def in_index_order(path: str, query_string: str, sorts: dict[str, str]) -> str | None:
    """The query string with `_sort=rowid` for a JSON or CSV search of a table sorted by its key, else None.

    Datasette's table search reads every match and sorts them by key to return a page (55,000 matches for
    "troops" at a million rows, about 100 ms); the build loads each table in key order, so rowid order is key
    order, and sorted by rowid SQLite walks the matches in order and stops at the page. An HTML page keeps
    the key's name as its sort, for the reader."""
    m = TABLE_PATH.match(path)
    if not m or m["ext"] not in (".json", ".csv") or not sorts.get(m["table"]):
        return None
    args = urllib.parse.parse_qs(query_string, keep_blank_values=True)
    if not any(k.startswith("_search") and k != "_searchmode" for k in args) or "_sort" in args or "_sort_desc" in args:
        return None
    return query_string + ("&" if query_string else "") + "_sort=rowid"


def capped(sql: str) -> str:
    return f"select count(*) from (\n{sql}\nlimit {COUNT_CAP + 1})"


def count_phrase(count: int | None, noun: str = "match", plural: str = "matches") -> str | None:
    """"37 matches", "1 match", "More than 1,000 matches (counted no further)"; None when not counted."""
    if count is None:
        return None
    if count > COUNT_CAP:
        return f"More than {COUNT_CAP:,} {plural} (counted no further)"
    return f"{count:,} {noun if count == 1 else plural}"


async def searchable_tables(datasette) -> dict[str, str]:
    """table → its full-text index (scripts/search.py: `<table>_fts`), read once per Datasette."""
    cache = datasette.__dict__.setdefault("_nk_search_tables", {})
    if DATABASE not in cache:
        rows = (await datasette.get_database(DATABASE).execute(
            "select name from sqlite_master where type = 'table' and name like '%\\_fts' escape '\\' "
            "and sql like 'CREATE VIRTUAL TABLE%fts5%' order by name")).rows
        cache[DATABASE] = {r[0][:-len("_fts")]: r[0] for r in rows}
    return cache[DATABASE]


def search_count_sentence(counts: dict[str, int], table: str = "") -> str:
    """What the search page says of its matches, from each index's count (counted up to POOL + 1)."""
    where = f" in {table.replace('_', ' ')}" if table else ""
    over = [k.replace("_", " ") for k, n in counts.items() if n > POOL]
    if not sum(counts.values()):
        return f"No matches{where}."
    if not over:
        return f"{count_phrase(sum(counts.values()))}{where}, best first."
    return (f"More than {POOL:,} matches{where} (counted no further), best first among the first {POOL:,} "
            f"matches of {', '.join(over)}: add words to rank every match.")


async def key_sorted_tables(datasette) -> dict[str, str]:
    """Searchable tables whose pages are sorted by their single primary key and that may be sorted by rowid
    (scripts/publish.py lists rowid among their sortable columns): table → key."""
    cache = datasette.__dict__.setdefault("_nk_search_key_sorted", {})
    if DATABASE not in cache:
        db, sorts = datasette.get_database(DATABASE), await default_sorts(datasette)
        found = {}
        for table, sort in sorts.items():
            keys = await db.primary_keys(table)
            if keys == [sort] and "rowid" in datasette.table_metadata(DATABASE, table).get("sortable_columns", []):
                found[table] = sort
        cache[DATABASE] = found
    return cache[DATABASE]


async def default_sorts(datasette) -> dict[str, str]:
    """Each searchable table → the column its page is sorted by unless asked otherwise, as Datasette's table
    view chooses it (the metadata's `sort`, else a single primary key), read once per Datasette."""
    cache = datasette.__dict__.setdefault("_nk_search_sorts", {})
    if DATABASE not in cache:
        db = datasette.get_database(DATABASE)
        sorts = {}
        for table in await searchable_tables(datasette):
            keys = await db.primary_keys(table)
            sorts[table] = datasette.table_metadata(DATABASE, table).get("sort") or (keys[0] if len(keys) == 1 else "")
        cache[DATABASE] = sorts
    return cache[DATABASE]


async def search_query_counts(datasette, q: str, table: str) -> dict[str, int] | None:
    """Matches of the search query's words (as it reads them: quotes dropped) in each index, or in `table`'s,
    each counted up to POOL + 1."""
    words = q.replace('"', " ").strip()
    if not words:
        return None  # an empty search lists nothing and counts nothing
    indexes = await searchable_tables(datasette)
    chosen = ({table: indexes[table]} if table in indexes else {}) if table else indexes
    if not chosen:
        return {}
    sql = "\nunion all\n".join(
        f"select :t{i}, (select count(*) from (select 1 from {escape_sqlite(fts)} where {escape_sqlite(fts)} "
        f"match :m limit {POOL + 1}))" for i, fts in enumerate(chosen.values()))
    params = {"m": escape_fts(words), **{f"t{i}": name for i, name in enumerate(chosen)}}
    try:
        rows = (await datasette.get_database(DATABASE).execute(
            sql, params, custom_time_limit=COUNT_TIME_LIMIT_MS)).rows
    except Exception:
        return None  # too slow, or words FTS5 cannot read: the page says nothing rather than a wrong number
    return {r[0]: r[1] for r in rows}


async def table_rows_count(datasette, request, database: str, table: str) -> int | None:
    """How many rows a searched table page selects, as Datasette's own count would find them (its filters,
    then its filter hooks, the search among them), counted up to COUNT_CAP + 1."""
    filter_args = [(k, v) for k in request.args if not (k.startswith("_") and "__" not in k)
                   for v in request.args.getlist(k)]
    units = datasette.table_metadata(database, table).get("units", {})
    where, params = Filters(sorted(filter_args), units, ureg).build_where_clauses(table)
    for hook in pm.hook.filters_from_request(request=request, table=table, database=database, datasette=datasette):
        found = await await_me_maybe(hook)
        if found:
            where += found.where_clauses
            params.update(found.params)
    sql = f"select 1 from {escape_sqlite(table)}" + (f" where {' and '.join(where)}" if where else "")
    try:
        return (await datasette.get_database(database).execute(
            capped(sql), params, custom_time_limit=COUNT_TIME_LIMIT_MS)).rows[0][0]
    except Exception:
        return None


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def with_terms(scope, receive, send):
            if scope["type"] != "http":
                return await app(scope, receive, send)
            query = scope.get("query_string", b"").decode("latin-1")
            if "_search" in query and scope.get("method") in ("GET", "HEAD"):
                unsearched = without_blank_search(scope["path"], query)
                if unsearched is not None:
                    scope, query = dict(scope, query_string=unsearched.encode("latin-1")), unsearched
                location = ranked_search_location(scope["path"], query, await default_sorts(datasette))
                if location:
                    # 302 with a short cache: where a table's search leads is the site's choice, not the table's
                    return await Response.redirect(location, headers={"cache-control": "max-age=60"}).asgi_send(send)
                counted = without_full_count(scope["path"], query)
                if counted is not None:
                    scope, query = dict(scope, query_string=counted.encode("latin-1")), counted
                ordered = in_index_order(scope["path"], query, await key_sorted_tables(datasette))
                if ordered is not None:
                    scope, query = dict(scope, query_string=ordered.encode("latin-1")), ordered
            terms = search_terms(query)
            phrases = variant_phrases(query, await spelling_groups(datasette)) if terms else ()
            token = _terms.set((terms, phrases))
            try:
                return await app(scope, receive, send)
            finally:
                _terms.reset(token)
        return with_terms
    return wrap


@hookimpl
def render_cell(value, column):
    if column not in TEXT_COLUMNS or not isinstance(value, str):
        return None
    terms, phrases = _terms.get()
    return highlight(value, term_pattern(terms, phrases)) if terms else None


@hookimpl
def extra_template_vars(view_name, database, table, request, datasette):
    if database == DATABASE and request is not None and view_name == "table" and table and request.args.get("_nocount"):
        async def table_count():
            if not any(k.startswith("_search") and k != "_searchmode" for k in request.args):
                return {}
            return {"nk_search_count": count_phrase(await table_rows_count(datasette, request, database, table),
                                                    "row", "rows")}
        return table_count
    if database == DATABASE and request is not None and view_name in ("query", "table") \
            and request.path.rstrip("/").endswith(f"/{SEARCH_QUERY}"):
        async def query_count():
            q, table = request.args.get("q") or "", (request.args.get("in") or "").strip().lower()
            counts = await search_query_counts(datasette, q, table)
            return {"nk_search_count": search_count_sentence(counts, table) if counts is not None else None}
        return query_count
    # The views that feed the search indexes (scripts/search.py, `<table>_fts_source`) are plumbing, like
    # the hidden index tables: the database page lists the other views only (today none).
    if view_name != "database" or not database:
        return {}

    async def views():
        names = await datasette.get_database(database).view_names()
        return {"views": [{"name": n, "private": False} for n in names if not n.endswith(FTS_SOURCE_SUFFIX)]}
    return views
