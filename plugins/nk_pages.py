"""How the pages read: query pages that read like answers, the method
page's codebook, lead columns on table pages; and a page's rows rendered by a synchronous
twin of Datasette's Jinja environment (nk_sync_include), at half the cost of async rendering.

Kept apart from nk_site.py (the evidence on row and document pages). Pure helpers first, tested directly;
the hooks at the bottom only fetch rows and hand them to the templates.
"""
import re

from datasette import hookimpl
from jinja2 import TemplateNotFound, pass_context
from markupsafe import Markup

DATABASE = "nk_russia"
# Fact tables open on the words and who said them; the remaining columns keep the schema's order.
LEAD_COLUMNS = {
    "appearances": ["excerpt", "speaker_id", "stance", "claim_id"],
    "quotes": ["quote", "speaker_id"],
    "weapon_mentions": ["excerpt", "source_id", "weapon_system_id", "status", "direction"],
    "weapon_specs": ["excerpt", "weapon_system_id", "attribute", "value_text"],
    "troop_estimates": ["original_wording", "estimator_id", "scope", "as_of_start", "excerpt"],
}
# Parameters of canned queries a person picks from a list: (SQL giving value and label, label of the field).
# The queries' SQL matches what is typed as well (names, ids, any case), so a URL with a name answers too.
PARAM_CHOICES = {
    "denier": ("select distinct denied_by as value, denied_by as label from denial_statements order by 1", "Who denied"),
    "actor": ("select name as value, name as label from actors order by name", "Actor"),
    "document": ("select substr(id, 1, 3) as value, substr(id, 1, 3) || ' — ' || label as label from documents order by id",
                 "Document"),
    "scope": ("select distinct replace(replace(scope, '_', ' '), 'russia', 'Russia') as value, "
              "replace(replace(scope, '_', ' '), 'russia', 'Russia') as label from troop_estimates order by 1",
              "What the figure counts"),
    "status": ("select distinct status as value, status as label from weapon_mention_counts order by 1", "Status"),
    "q": (None, "Words to search for"),
    # The tables that have a full-text index (scripts/search.py names it <table>_fts): the search query's kinds.
    "in": ("select substr(name, 1, length(name) - 4) as value, replace(substr(name, 1, length(name) - 4), '_', ' ') "
           "as label from sqlite_master where type = 'table' and name like '%\\_fts' escape '\\' "
           "and sql like 'CREATE VIRTUAL TABLE%fts5%' order by name", "Search in"),
}
# A query whose parameter names its subject answers nothing until one is chosen; the others list everything.
REQUIRED_PARAMS = {"actor", "document", "q"}
# Past this many choices a list helps nobody (and at a million rows it would be megabytes of <option> on every
# query page): the field becomes a text box, which the queries match by name or part of one anyway.
MAX_CHOICES = 300


def lead_order(columns: list[str], table: str) -> list[int] | None:
    """Indexes of columns with the primary key, then the table's lead columns, then the rest."""
    lead = LEAD_COLUMNS.get(table)
    if not lead:
        return None
    first = [c for c in columns[:1]] + [c for c in lead if c in columns and c != columns[0]]
    return [columns.index(c) for c in first] + [i for i, c in enumerate(columns) if c not in first]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def status_anchor(word: str, field: str = "weapon_mentions-status") -> str:
    return f"/about#{field}-{slug(word)}"


def no_rows_message(params: dict, labels: dict) -> str:
    given = {k: v for k, v in params.items() if (v or "").strip()}
    missing = [k for k in params if k in REQUIRED_PARAMS and k not in given]
    if missing:
        return f"Choose {' and '.join(labels.get(k, k).lower() for k in missing)} above to see the answer."
    if given:
        said = "; ".join(f"{labels.get(k, k).lower()} “{v.strip()}”" for k, v in given.items())
        return f"No rows, because nothing matches {said}. Pick a value from the list, or clear it to see every row."
    return "No rows: the data hold nothing for this question yet."


# ---- hooks --------------------------------------------------------------------------------------

def capped(sql: str, limit: int = MAX_CHOICES) -> str:
    """The choices' SQL stopping one row past the cap: enough to know the list is too long."""
    return f"select * from ({sql}) limit {int(limit) + 1}"


async def param_choices(datasette, names) -> dict:
    """Each listed parameter's choices, or None where there are more than MAX_CHOICES. Read once per worker:
    the database is immutable, and a list is the same on every request."""
    db = datasette.get_database(DATABASE)
    cache = datasette.__dict__.setdefault("_nk_param_choices", {})
    for name in names:
        sql = PARAM_CHOICES.get(name, (None, None))[0]
        if sql and name not in cache:
            rows = [dict(r) for r in (await db.execute(capped(sql))).rows]
            cache[name] = rows if len(rows) <= MAX_CHOICES else None
    return {name: cache[name] for name in names if name in cache}


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    async def page_vars():
        # The footer names the site's licence on every page, query and template pages included, whose own
        # `metadata` is the query's or none.
        site = {"nk_licence": {"name": datasette.metadata("license"), "url": datasette.metadata("license_url")}}
        return {**site, **await specific_vars()}

    async def specific_vars():
        if template == "index.html":
            return {"status_anchor": status_anchor}
        if view_name == "page" and request is not None and request.path == "/about":
            # Template pages get no metadata from Datasette: the method page names the publisher and licence, and
            # shows the codebook the build rendered into the metadata (scripts/codebook.py; no file read here).
            return {"codebook": Markup(datasette.metadata("codebook_html") or ""), "metadata": datasette.metadata()}
        if view_name == "table" and database == DATABASE and table in LEAD_COLUMNS:
            return {"nk_column_order": lambda display_columns: lead_order([c["name"] for c in display_columns], table)}
        if (template or "").startswith("query") and database == DATABASE and request is not None:
            canned = request.url_vars.get("table") or request.path.rstrip("/").split("/")[-1]
            query = (datasette.metadata("queries", database=DATABASE) or {}).get(canned)
            if not query:
                return {}
            names = query.get("params") or []
            labels = {n: PARAM_CHOICES.get(n, (None, n))[1] for n in names}
            params = {n: request.args.get(n, "") for n in names}
            return {"nk_query": {"choices": await param_choices(datasette, names), "labels": labels,
                                 "empty": no_rows_message(params, labels)}}
        return {}
    return page_vars



@hookimpl
def startup(datasette):
    # Datasette's table page fills the table's own metadata dict in place with the inherited licence, source and
    # "about" links (update_with_inherited_metadata); the row page shows that same dict, so a row page showed the
    # licence line only if its worker had served that table's page before. Filled once at startup instead, every
    # row page shows it from the first request.
    tables = ((datasette.metadata("databases") or {}).get(DATABASE) or {}).get("tables") or {}
    for table_metadata in tables.values():
        datasette.update_with_inherited_metadata(table_metadata)


# What templates/table.html and query.html render through nk_sync_include: a page's rows.
SYNC_TEMPLATES = ("_table.html", "_nk_query_rows.html")


def sync_include(env):
    """A template function rendering templates in a synchronous twin of env (same loader, filters and globals):
    `{{ nk_sync_include(names, name=value) }}` as `{% include names %}` with those extra variables. Datasette's
    environment is async, where Jinja wraps every expression in an await-if-awaitable check; a table page's
    cells (50 rows of 18 columns) spent half their time there. Only for templates that call nothing async."""
    twin = env.overlay(enable_async=False, cache_size=100)  # its own cache: the async env's compiled code differs
    chosen = {}  # names → the template they resolve to: the missing ones are looked for once, not on every page

    @pass_context
    def nk_sync_include(context, names, **variables):
        key = (names,) if isinstance(names, str) else tuple(names)
        if key not in chosen:
            chosen[key] = twin.get_or_select_template(names)
        return Markup(chosen[key].render({**context.get_all(), **variables}))
    nk_sync_include.twin = twin
    return nk_sync_include


@hookimpl
def prepare_jinja2_environment(env):
    env.globals["nk_sync_include"] = include = sync_include(env)
    for name in SYNC_TEMPLATES:  # compiled as the worker starts, not during its first page
        try:
            include.twin.get_template(name)
        except TemplateNotFound:
            pass  # a Datasette given these plugins without templates/: no page of it calls this template
