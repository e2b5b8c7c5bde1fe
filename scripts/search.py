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
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

from .schema import all_fields, foreign_keys, quote_identifier as q, sql_literal
from .sidecar import Sidecar, open_output, report_peak

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


def plain(char: str) -> bool:
    """An ASCII character, or one without case (punctuation, typographic quotes and dashes, digits of other
    scripts): on a text of these only, lower() is exactly what the regular expression engine's case-insensitive
    matching compares, character for character."""
    return char.isascii() or char.lower() == char == char.upper() == char.casefold()


def trie_pattern(words) -> str:
    """One alternation of the words as a prefix tree: the engine follows one branch per character instead of
    trying every word at every character. Longer words first, as in an alternation sorted longest first."""
    root = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def alternation(node) -> str:
        branches = [re.escape(char) + alternation(child) for char, child in node.items() if char] + [""] * ("" in node)
        return branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
    return alternation(root)


class Mentions:
    r"""The entities a text names by one of their spellings, case-insensitively and as whole words: what the
    regular expression `(?<!\w)(?:spelling|…)(?!\w)` (every spelling casefolded, longest first, IGNORECASE)
    finds with finditer, in the same order.

    That expression tries every spelling at every character: minutes at a million rows. A text of plain
    characters (nearly all) is lowered once and searched, without IGNORECASE, by the spellings as one prefix
    tree; any other text (a cased letter beyond ASCII, whose case-insensitive matching has special cases such
    as the dotless i or the Kelvin sign) is left to the expression itself."""

    def __init__(self, names: dict[tuple[str, str], list[str]]):
        self.owner = {}  # casefolded spelling → entity; the first entity listed keeps a spelling two share
        for key, variants in names.items():
            for v in variants:
                self.owner.setdefault(v.casefold(), key)
        ordered = sorted(self.owner, key=len, reverse=True)
        self.pattern = re.compile(rf"(?<!\w)(?:{'|'.join(map(re.escape, ordered))})(?!\w)", re.IGNORECASE) if ordered else None
        # Only a plain spelling can match a plain text: any other holds a cased letter beyond ASCII, which
        # matches no plain character — unless it matches an ASCII letter under another case rule (the engine
        # matches "ı" to "i"), asked of the engine itself; then every text goes to the expression. An empty
        # spelling would match everywhere.
        beyond = {c for s in self.owner for c in s if not c.isascii()}
        self.fast = None
        if ordered and "" not in self.owner and not any(re.fullmatch(re.escape(c), a, re.IGNORECASE)
                                                         for c in beyond for a in "abcdefghijklmnopqrstuvwxyz"):
            simple = [s for s in ordered if all(map(plain, s))]
            # At a word's first character, (?<!\w) is \b, which the engine checks faster.
            words = [s for s in simple if re.match(r"\w", s)]
            others = [s for s in simple if not re.match(r"\w", s)]
            starts = ([rf"\b{trie_pattern(words)}"] if words else []) + ([rf"(?<!\w){trie_pattern(others)}"] if others else [])
            self.fast = re.compile(rf"(?:{'|'.join(starts)})(?!\w)") if starts else re.compile(r"(?!)")
        self._known = set()  # non-ASCII plain characters met so far
        self._unknown = re.compile(r"[^\x00-\x7f]")  # a non-ASCII character not known to be plain

    def _plain(self, text: str) -> bool:
        if text.isascii():
            return True
        while (m := self._unknown.search(text)) is not None:
            if not plain(m.group()):
                return False
            self._known.add(m.group())  # rare: the set of such characters is small
            self._unknown = re.compile(f"[^\\x00-\\x7f{''.join(map(re.escape, sorted(self._known)))}]")
        return True

    def _owner_of(self, matched: str):
        """The entity of the spelling that matched. Case-insensitive matching is per character, so a text's
        casefold may not be a spelling ("İ" matches "i" but folds to two characters): then the spelling the
        expression chose, the first in its order that matches the text."""
        key = self.owner.get(matched.casefold())
        if key is None:
            key = next(self.owner[s] for s in sorted(self.owner, key=len, reverse=True)
                       if len(s) == len(matched) and re.fullmatch(re.escape(s), matched, re.IGNORECASE))
        return key

    def __call__(self, text: str) -> list:
        """The entities named in text, in order of appearance, once per mention."""
        if self.pattern is None or not text:
            return []
        if self.fast is None or not self._plain(text):
            return [self._owner_of(m.group(0)) for m in self.pattern.finditer(text)]
        # Plain characters: lower() keeps the length, and gives each character as the engine compares it.
        return [self.owner[m.group(0)] for m in self.fast.finditer(text.lower())]


def row_aliases(texts, links, names, mentions: Mentions) -> str:
    """The words added to one row's index: every spelling of each linked or mentioned entity."""
    keys = [k for k in links if k in names]
    for text in texts:
        keys += mentions(text or "")
    words = [w for k in dict.fromkeys(keys) for w in names[k]]
    return " ".join(dict.fromkeys(words))


def write_aliases(conn, res: dict, names, mentions: Mentions) -> None:
    columns = searchable_columns(res)
    links = [(column, target) for column, target, _ in foreign_keys(res) if target in ENTITY_TABLES]
    select = ", ".join(["rowid"] + [q(c) for c in columns] + [q(c) for c, _ in links])

    def rows():  # streamed: a million rows' words never sit in memory at once
        for row in conn.execute(f"SELECT {select} FROM {q(res['name'])}"):
            texts, keys = row[1:1 + len(columns)], row[1 + len(columns):]
            words = row_aliases(texts, [(t, k) for (_, t), k in zip(links, keys) if k], names, mentions)
            if words:
                yield res["name"], row[0], words
    conn.executemany(f"INSERT INTO {ALIASES_TABLE} VALUES (?, ?, ?)", rows())


def enable_search(conn, pkg: dict) -> None:
    """The aliases and every table's FTS5 index, in this process (the build computes the aliases in another:
    SearchAliases)."""
    with conn:
        create_aliases(conn, pkg)
        create_fts(conn, pkg)


def create_aliases(conn, pkg: dict) -> None:
    conn.execute(f"CREATE TABLE {ALIASES_TABLE} (table_name TEXT NOT NULL, row_rowid INTEGER NOT NULL, "
                 "words TEXT NOT NULL, PRIMARY KEY (table_name, row_rowid)) WITHOUT ROWID")
    names = spellings(conn)
    conn.execute(f"CREATE TABLE {SPELLINGS_TABLE} (entity TEXT NOT NULL, spelling TEXT NOT NULL)")
    conn.executemany(f"INSERT INTO {SPELLINGS_TABLE} VALUES (?, ?)",
                     [(f"{table}/{key}", s) for (table, key), variants in sorted(names.items()) for s in variants])
    mentions = Mentions(names)
    for res in pkg["resources"]:
        if searchable_columns(res):
            write_aliases(conn, res, names, mentions)


def create_fts(conn, pkg: dict) -> None:
    for res in pkg["resources"]:
        columns = searchable_columns(res)
        if not columns:
            continue
        table, view, fts = q(res["name"]), q(source_view(res["name"])), q(fts_table(res["name"]))
        cols = ", ".join(f"t.{q(c)}" for c in columns)
        conn.execute(f"CREATE VIEW {view} AS SELECT t.rowid AS rid, {cols}, coalesce(s.words, '') AS aliases "
                     f"FROM {table} t LEFT JOIN {ALIASES_TABLE} s "
                     f"ON s.table_name = {sql_literal(res['name'])} AND s.row_rowid = t.rowid")
        conn.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5({', '.join(q(c) for c in columns)}, aliases, "
                     f"content={view}, content_rowid='rid', tokenize={TOKENIZE!r})")
        conn.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


class SearchAliases(Sidecar):
    """create_aliases in a process of its own (`python -m scripts.search`), from the loaded tables, while the
    build writes coverage and the derived tables: the aliases are most of the search stage's work, in Python."""

    def __init__(self, db: Path, package_json: Path):
        super().__init__(db, "scripts.search", str(Path(package_json).resolve()))

    def merge(self, conn) -> None:
        super().merge(conn, (ALIASES_TABLE, SPELLINGS_TABLE))


if __name__ == "__main__":  # python -m scripts.search SOURCE_DB OUT_DB PACKAGE_JSON
    source_db, out_db, package_json = sys.argv[1:]
    out = open_output(Path(source_db), Path(out_db))
    try:
        with out:
            create_aliases(out, json.loads(Path(package_json).read_text(encoding="utf-8")))
    finally:
        out.close()
    report_peak()
