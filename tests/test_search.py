"""scripts/search.py: the full-text indexes carry every spelling of the actors and systems a row names."""
import csv
import re

import pytest

from scripts.search import mention_pattern, row_aliases

from .conftest import DATA


def test_a_mention_brings_every_spelling_and_a_link_brings_the_linked_ones():
    names = {("actors", "z"): ["Volodymyr Zelenskyy", "Zelensky"], ("weapon_systems", "s"): ["S-400", "S400"]}
    pattern, owner = mention_pattern(names)
    words = row_aliases(["President Volodymyr Zelenskyy said"], [], names, pattern, owner)
    assert words == "Volodymyr Zelenskyy Zelensky"
    assert row_aliases(["launchers"], [("weapon_systems", "s")], names, pattern, owner) == "S-400 S400"
    # whole words only, any case: "s4000" is not "S400", "zelensky" is
    assert row_aliases(["the s4000 and ZELENSKY"], [], names, pattern, owner) == "Volodymyr Zelenskyy Zelensky"
    assert row_aliases(["nothing here"], [("actors", "unknown")], names, pattern, owner) == ""


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
