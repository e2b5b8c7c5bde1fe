"""Stage 5, index/search: FTS5 tables for the search query and Datasette's search box, with aliases.

Searchable columns are the fields marked "fullTextSearch": true in data/datapackage.json. Each index
has one more column, `aliases`: every spelling (data/aliases.csv, the entity's own name, a weapon
system's in-text names) of each actor, weapon system or claim the row points at (speaker, outlet,
system, claim) or names in its text. So "Zelensky" finds the rows that spell him "Zelenskyy", and
"S400" the S-400 rows, in the `search` query and in a table's `_search` alike.

The index is external-content over a view `<table>_fts_source` (the table's text plus the aliases
from `search_aliases`): the text is stored once. Datasette finds it through `fts_table` in the
metadata (scripts/publish.py), since the content is the view rather than the table.
"""
import re
from collections import defaultdict

from .schema import all_fields, foreign_keys, quote_identifier as q, sql_literal

# The entities whose spellings are indexed, and where their own names live.
ENTITY_TABLES = ("actors", "weapon_systems", "claims")
ALIASES_TABLE = "search_aliases"
# Every spelling of each entity that has several: the pages mark "S-400" when "S400" was searched.
SPELLINGS_TABLE = "search_spellings"
TOKENIZE = "unicode61 remove_diacritics 2"


def searchable_columns(res: dict) -> list[str]:
    return [f["name"] for f in all_fields(res) if f.get("fullTextSearch")]


def fts_table(name: str) -> str:
    return f"{name}_fts"


def source_view(name: str) -> str:
    return f"{name}_fts_source"


def spellings(conn) -> dict[tuple[str, str], list[str]]:
    """(entity table, id) → its spellings: an actor's or system's name, a system's in-text names, its aliases;
    only entities with more than one (one spelling adds nothing a search of the text would not find, and
    indexing every speaker's name would make "government" match every row a government said). A claim is
    only spelled by its aliases: its proposition is indexed as text already."""
    found = defaultdict(list)
    for actor_id, name in conn.execute("SELECT id, name FROM actors"):
        found[("actors", actor_id)].append(name)
    for system_id, name, others in conn.execute("SELECT id, name, aliases FROM weapon_systems"):
        found[("weapon_systems", system_id)] += [name] + [a.strip() for a in (others or "").split("|") if a.strip()]
    for alias, actor_id, system_id, claim_id in conn.execute(
            "SELECT alias, actor_id, weapon_system_id, claim_id FROM aliases ORDER BY alias"):
        for table, key in (("actors", actor_id), ("weapon_systems", system_id), ("claims", claim_id)):
            if key:
                found[(table, key)].append(alias)
    unique = {k: list(dict.fromkeys(v)) for k, v in found.items()}
    return {k: v for k, v in unique.items() if len(v) > 1}


def mention_pattern(names: dict[tuple[str, str], list[str]]):
    """One regular expression finding any of the spellings, case-insensitively and as whole words."""
    owner = {}
    for key, variants in names.items():
        for v in variants:
            owner.setdefault(v.casefold(), key)
    if not owner:
        return None, owner
    alternatives = "|".join(re.escape(v) for v in sorted(owner, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE), owner


def row_aliases(texts, links, names, pattern, owner) -> str:
    """The words added to one row's index: every spelling of each linked or mentioned entity."""
    keys = [k for k in links if k in names]
    if pattern is not None:
        for text in texts:
            keys += [owner[m.group(0).casefold()] for m in pattern.finditer(text or "")]
    words = [w for k in dict.fromkeys(keys) for w in names[k]]
    return " ".join(dict.fromkeys(words))


def write_aliases(conn, res: dict, names, pattern, owner) -> None:
    columns = searchable_columns(res)
    links = [(column, target) for column, target, _ in foreign_keys(res) if target in ENTITY_TABLES]
    select = ", ".join(["rowid"] + [q(c) for c in columns] + [q(c) for c, _ in links])
    rows = []
    for row in conn.execute(f"SELECT {select} FROM {q(res['name'])}"):
        texts, keys = row[1:1 + len(columns)], row[1 + len(columns):]
        words = row_aliases(texts, [(t, k) for (_, t), k in zip(links, keys) if k], names, pattern, owner)
        if words:
            rows.append((res["name"], row[0], words))
    conn.executemany(f"INSERT INTO {ALIASES_TABLE} VALUES (?, ?, ?)", rows)


def enable_search(conn, pkg: dict) -> None:
    with conn:
        create_indexes(conn, pkg)


def create_indexes(conn, pkg: dict) -> None:
    conn.execute(f"CREATE TABLE {ALIASES_TABLE} (table_name TEXT NOT NULL, row_rowid INTEGER NOT NULL, "
                 "words TEXT NOT NULL, PRIMARY KEY (table_name, row_rowid)) WITHOUT ROWID")
    names = spellings(conn)
    pattern, owner = mention_pattern(names)
    conn.execute(f"CREATE TABLE {SPELLINGS_TABLE} (entity TEXT NOT NULL, spelling TEXT NOT NULL)")
    conn.executemany(f"INSERT INTO {SPELLINGS_TABLE} VALUES (?, ?)",
                     [(f"{table}/{key}", s) for (table, key), variants in sorted(names.items()) for s in variants])
    for res in pkg["resources"]:
        columns = searchable_columns(res)
        if not columns:
            continue
        write_aliases(conn, res, names, pattern, owner)
        table, view, fts = q(res["name"]), q(source_view(res["name"])), q(fts_table(res["name"]))
        cols = ", ".join(f"t.{q(c)}" for c in columns)
        conn.execute(f"CREATE VIEW {view} AS SELECT t.rowid AS rid, {cols}, coalesce(s.words, '') AS aliases "
                     f"FROM {table} t LEFT JOIN {ALIASES_TABLE} s "
                     f"ON s.table_name = {sql_literal(res['name'])} AND s.row_rowid = t.rowid")
        conn.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5({', '.join(q(c) for c in columns)}, aliases, "
                     f"content={view}, content_rowid='rid', tokenize={TOKENIZE!r})")
        conn.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
