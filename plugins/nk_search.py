"""Search results highlighted when the page is rendered, never in the data.

The `search` query (metadata.yml) and a table's `_search` return clean text, so their CSV and JSON carry
exactly the words of the sources. On an HTML page, each word of the text that begins with a searched
word is wrapped in <mark> after the text has been escaped. The searched words come from the request
(`q` of the search query, `_search` of a table), which Datasette's render_cell hook is not given: an
ASGI wrapper puts them in a context variable for the duration of the request.
"""
import contextvars
import functools
import re
import urllib.parse
import weakref

from datasette import hookimpl
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


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def with_terms(scope, receive, send):
            if scope["type"] != "http":
                return await app(scope, receive, send)
            query = scope.get("query_string", b"").decode("latin-1")
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
def extra_template_vars(view_name, database, datasette):
    # The views that feed the search indexes (scripts/search.py, `<table>_fts_source`) are plumbing, like
    # the hidden index tables: the database page lists the other views only (today none).
    if view_name != "database" or not database:
        return {}

    async def views():
        names = await datasette.get_database(database).view_names()
        return {"views": [{"name": n, "private": False} for n in names if not n.endswith(FTS_SOURCE_SUFFIX)]}
    return views
