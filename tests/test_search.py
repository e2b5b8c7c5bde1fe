"""scripts/search.py: the full-text indexes carry every spelling of the actors and systems a row names."""
import csv
import random
import re
import sqlite3

import pytest

from scripts.search import Mentions, row_aliases, searchable_columns, spellings
from scripts.schema import load_package

from .conftest import DATA, read_only


def test_a_mention_brings_every_spelling_and_a_link_brings_the_linked_ones():
    names = {("actors", "z"): ["Volodymyr Zelenskyy", "Zelensky"], ("weapon_systems", "s"): ["S-400", "S400"]}
    mentions = Mentions(names)
    words = row_aliases(["President Volodymyr Zelenskyy said"], [], names, mentions)
    assert words == "Volodymyr Zelenskyy Zelensky"
    assert row_aliases(["launchers"], [("weapon_systems", "s")], names, mentions) == "S-400 S400"
    # whole words only, any case: "s4000" is not "S400", "zelensky" is
    assert row_aliases(["the s4000 and ZELENSKY"], [], names, mentions) == "Volodymyr Zelenskyy Zelensky"
    assert row_aliases(["nothing here"], [("actors", "unknown")], names, mentions) == ""


def reference_mentions(names):
    """The first implementation, kept as the definition of the result: one IGNORECASE alternation of every
    casefolded spelling, longest first, run over the whole text (minutes at a million rows)."""
    owner = {}
    for key, variants in names.items():
        for v in variants:
            owner.setdefault(v.casefold(), key)
    pattern = re.compile(rf"(?<!\w)(?:{'|'.join(re.escape(v) for v in sorted(owner, key=len, reverse=True))})(?!\w)",
                         re.IGNORECASE)
    return lambda text: [owner[m.group(0).casefold()] for m in pattern.finditer(text)]


def searchable_texts(db):
    conn = read_only(db)
    try:
        pkg = load_package(DATA / "datapackage.json")
        names = spellings(conn)
        texts = [text for res in pkg["resources"] for column in searchable_columns(res)
                 for (text,) in conn.execute(f'SELECT "{column}" FROM "{res["name"]}"') if text]
    finally:
        conn.close()
    return names, texts


@pytest.mark.parametrize("which", ["built", "generated_build"])
def test_mentions_are_those_of_the_first_implementation(which, request):
    """On the curated data and on generated data, every searchable text of every table."""
    names, texts = searchable_texts(request.getfixturevalue(which)["db"])
    reference, mentions = reference_mentions(names), Mentions(names)
    assert mentions.fast is not None  # the fast path is what is compared
    found = [mentions(t) for t in texts]
    assert found == [reference(t) for t in texts]
    assert sum(map(bool, found)) > 10  # the texts do name entities


# Spellings and texts drawn from characters where the fast path could go wrong: case rules beyond ASCII
# (dotless i, long s, Kelvin sign, dotted capital I, sharp s), letters with accents, typographic
# punctuation, underscores, digits, and spellings that start or end with a character outside words.
ALPHABET = ["s", "S", "i", "I", "k", "a", "4", "0", "_", "-", " ", " ", "’", "“", "é", "É", "ſ", "ı", "K", "İ", "ß", "(", "."]


def outcome(find, text):
    try:
        return find(text)
    except KeyError:
        return KeyError


@pytest.mark.parametrize("seed", range(6))
def test_mentions_match_the_first_implementation_on_tricky_characters(seed):
    rng = random.Random(seed)
    plain_only = seed % 2 == 0  # half the runs: spellings the fast path takes, half: any
    letters = [c for c in ALPHABET if c.isascii() or c in "’“"] if plain_only else ALPHABET
    names = {("actors", f"e{i}"): ["".join(rng.choice(letters) for _ in range(rng.randint(1, 4))).strip() or "s"
                                  for _ in range(rng.randint(1, 3))] for i in range(12)}
    reference, mentions = reference_mentions(names), Mentions(names)
    if plain_only:
        assert mentions.fast is not None
    for _ in range(3000):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 30)))
        expected = outcome(reference, text)
        if expected is KeyError:  # the first implementation failed the build there ("İ" folds to two characters)
            found = mentions(text)
            assert found and all(k in names for k in found)
            continue
        assert mentions(text) == expected, (names, text)


def test_every_alias_names_exactly_one_actor_system_or_claim_and_is_not_its_name():
    with open(DATA / "aliases.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows
    for row in rows:
        targets = [row[c] for c in ("actor_id", "weapon_system_id", "claim_id") if row[c]]
        assert len(targets) == 1, row


@pytest.mark.parametrize("typed, spelled", [("Zelensky", "Zelenskyy"), ("Zelenskiy", "Zelenskyy"), ("S400", "S-400"),
                                            ("Shin Won-sik", "Shin"), ("Shin Won Sik", "Shin"), ("MiG-29", "MiG 29")])
def test_the_search_query_finds_spelling_variants(site, conn, typed, spelled):
    rows = site(f"/nk_russia/search.json?_shape=array&q={typed}").json()
    assert rows, typed
    # the variant finds what the spelling used in the sources finds
    as_spelled = {r["row"] for r in site(f"/nk_russia/search.json?_shape=array&q={spelled}").json()}
    assert as_spelled <= {r["row"] for r in rows} or spelled == "Shin"
    assert any(spelled.casefold() in (r["snippet"] or "").casefold() or spelled == (r["speaker"] or "")
               for r in rows)


def test_table_search_finds_spelling_variants(site, conn):
    expected = {r[0] for r in conn.execute("select id from weapon_mentions where weapon_system_id = 's-400'")}
    rows = site("/nk_russia/weapon_mentions.json?_shape=array&_search=S400&_size=max").json()
    assert expected and expected <= {r["id"] for r in rows}
    speaker = site("/nk_russia/appearances.json?_shape=array&_search=Zelensky&_size=max").json()
    assert speaker and all("Zelenskyy" in r["excerpt"] or r["speaker_id"] == "volodymyr-zelenskyy" for r in speaker)


def test_search_results_say_who_where_how_and_when_best_first(site, conn):
    rows = site("/nk_russia/search.json?_shape=array&q=Shin").json()
    assert list(rows[0]) == ["found_in", "snippet", "speaker", "outlet", "stance", "date", "document_id", "row"]
    appearance = next(r for r in rows if r["found_in"] == "claim appearance")
    assert appearance["speaker"] == "Shin Wonsik" and appearance["stance"] and re.fullmatch(r"\d{4}(-\d\d){0,2}", appearance["date"])
    # many matches: the page shows a hundred, the JSON every match (up to the query's 1,000 best)
    matches = sum(conn.execute(f"select count(*) from {t}_fts where {t}_fts match 'Korea'").fetchone()[0]
                  for t in ("claims", "appearances", "quotes", "weapon_mentions", "troop_estimates", "documents"))
    assert 100 < matches <= 1000
    assert len(site("/nk_russia/search.json?_shape=array&_size=max&q=Korea").json()) == matches
    import nk_paging
    assert site("/nk_russia/search?q=Korea").text.count('<td class="col-row">') == nk_paging.PAGE_ROWS


def test_the_build_computes_in_a_second_process_the_aliases_computed_in_process(built, tmp_path):
    """The build's aliases come from SearchAliases (another process, reading the loaded tables); the same
    database with them dropped and made again in-process (as the same-output baseline makes them) has the same rows."""
    import shutil
    from scripts.search import ALIASES_TABLE, SPELLINGS_TABLE, create_aliases
    copy = tmp_path / "again.db"
    shutil.copyfile(built["db"], copy)
    conn = sqlite3.connect(copy)
    try:
        rows = {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in (ALIASES_TABLE, SPELLINGS_TABLE)}
        assert len(rows[ALIASES_TABLE]) > 100 and rows[SPELLINGS_TABLE]
        with conn:
            for t in rows:
                conn.execute(f"ALTER TABLE {t} RENAME TO {t}_built")
            create_aliases(conn, load_package(DATA / "datapackage.json"))
        for t, built_rows in rows.items():
            assert conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() == built_rows, t
    finally:
        conn.close()
