"""Derived views, on a small temporary database: evidence status comes from the appearances alone."""
import json
import sqlite3

import pytest

from scripts.load import create_table_sql, insert_rows
from scripts.schema import resource
from scripts.coverage import write_coverage
from scripts.views import DERIVED, create_views

from .conftest import read_only, tables_read

ACTOR = {"kind": "government", "country": None, "role": None, "conflict_party": 0, "document_id": None,
         "excerpt": None, "excerpt_occurrence": None, "char_start": None, "char_end": None}


def actor(id, affiliation=None):
    return {**ACTOR, "id": id, "name": id, "affiliation_id": affiliation}


# Fixture text: each appearance n has a sentence of its own, so that none is merged with another (same-sentence
# merging is tested in test_evidence.py).
SENTENCE = "Fixture sentence {:03d}. "


def appearance(n, claim, speaker, stance):
    start = n * len(SENTENCE.format(0))
    return {"id": f"x-{n}", "claim_id": claim, "document_id": "d", "speaker_id": speaker, "reported_by_id": None,
            "stance": stance, "stated_text": None, "stated_start": None, "stated_end": None,
            "stated_precision": "unknown", "stated_inferred": 0, "stated_basis": None, "excerpt": "Fixture",
            "excerpt_occurrence": None, "note": None, "char_start": start, "char_end": start + 7}


def fixture_documents(conn, ids) -> None:
    text = "".join(SENTENCE.format(i) for i in range(50))
    conn.executemany("INSERT INTO documents (id, label, date_precision, date_inferred, sha256, text, char_count) "
                     "VALUES (?, 'fixture', 'unknown', 0, ?, ?, ?)", [(i, "0" * 64, text, len(text)) for i in ids])


def derive(conn) -> None:
    """Derived tables as the build makes them: coverage's sentences first, then the views."""
    write_coverage(conn)
    create_views(conn)


def test_status_counts_independent_sources(pkg, tmp_path):
    conn = sqlite3.connect(tmp_path / "v.db")
    for res in pkg["resources"]:
        conn.execute(create_table_sql(res))
    insert_rows(conn, resource(pkg, "actors"), [(0, actor("us")), (0, actor("pentagon", "us")),
                                                (0, actor("austin", "pentagon")), (0, actor("kr")),
                                                (0, {**actor("ru"), "conflict_party": 1})])
    claims = ("one", "same-government", "two", "contested", "denied")
    insert_rows(conn, resource(pkg, "claims"), [(0, {"id": c, "claim": c, "topic": "troop_deployment", "direction": None, "subject_id": None}) for c in claims])
    rows = [("one", "kr", "asserts"), ("same-government", "austin", "confirms"), ("same-government", "pentagon", "asserts"),
            ("two", "austin", "asserts"), ("two", "kr", "warns"), ("contested", "kr", "asserts"),
            ("contested", "ru", "denies"), ("denied", "ru", "denies")]
    insert_rows(conn, resource(pkg, "appearances"), [(0, appearance(i, *r)) for i, r in enumerate(rows)])
    fixture_documents(conn, ["d"])
    derive(conn)
    status = dict(conn.execute("SELECT claim_id, evidence_status FROM claim_evidence"))
    assert status == {"one": "single_origin", "same-government": "single_origin", "two": "corroborated",
                      "contested": "denied_by_party_only", "denied": "denied"}


def test_each_articles_own_voice_is_a_separate_source(pkg, tmp_path):
    conn = sqlite3.connect(tmp_path / "w.db")
    for res in pkg["resources"]:
        conn.execute(create_table_sql(res))
    insert_rows(conn, resource(pkg, "actors"), [(0, {**actor("unattributed"), "kind": "unattributed"})])
    insert_rows(conn, resource(pkg, "claims"), [(0, {"id": c, "claim": c, "topic": "troop_deployment", "direction": None,
                                                     "subject_id": None}) for c in ("two-articles", "one-article")])
    rows = [("two-articles", "d1"), ("two-articles", "d2"), ("one-article", "d1"), ("one-article", "d1")]
    insert_rows(conn, resource(pkg, "appearances"),
                [(0, {**appearance(i, claim, "unattributed", "asserts"), "document_id": doc}) for i, (claim, doc) in enumerate(rows)])
    fixture_documents(conn, ["d1", "d2"])
    derive(conn)
    status = dict(conn.execute("SELECT claim_id, evidence_status FROM claim_evidence"))
    assert status == {"two-articles": "corroborated", "one-article": "single_origin"}


# ---- canned queries read the derived tables and answer exactly what they answered before ----

# The queries as they were when they aggregated the base tables on every request: name → (SQL, the columns
# of its ORDER BY, the group_concat columns, whose order of names SQLite leaves unspecified).
BEFORE = {
    "troop_estimate_timeline": ("""
        select coalesce(t.as_of_start, 'undated') as as_of, e.name as estimator, b.bound, b.soldiers, t.original_wording,
          'troop_estimates/' || t.id as row
        from troop_estimates t
        join actors e on e.id = t.estimator_id
        join (
          select id, 'low' as bound, value_low as soldiers from troop_estimates where value_low is not null
          union all select id, 'best', value_best from troop_estimates where value_best is not null
          union all select id, 'high', value_high from troop_estimates where value_high is not null
        ) b on b.id = t.id
        where t.scope != 'army_size' and t.qualifier != 'additional'
        order by as_of, estimator, b.soldiers""", ["as_of", "estimator", "soldiers"], []),
    **{name: (f"""
        select w.name as weapon_system, w.category, m.status,
          count(*) as mentions, count(distinct m.document_id) as documents,
          group_concat(distinct s.name) as according_to,
          min('weapon_mentions/' || m.id) as example_row
        from weapon_mentions m join weapon_systems w on w.id = m.weapon_system_id
        join actors s on s.id = m.source_id
        where m.direction = '{direction}'
        group by w.id, m.status
        order by mentions desc, weapon_system""", ["mentions", "weapon_system"], ["according_to"])
       for name, direction in (("russia_to_north_korea", "ru_to_kp"), ("north_korea_to_russia", "kp_to_ru"))},
    "contested_claims": ("""
        select e.evidence_status, e.claim, 'claims/' || e.claim_id as row,
          (select group_concat(distinct s.name) from appearances a join actors s on s.id = a.speaker_id
            where a.claim_id = e.claim_id and a.stance in ('asserts', 'confirms', 'warns', 'speculates')) as supported_by,
          (select group_concat(distinct s.name) from appearances a join actors s on s.id = a.speaker_id
            where a.claim_id = e.claim_id and a.stance = 'denies') as denied_by,
          (select group_concat(distinct s.name) from appearances a join actors s on s.id = a.speaker_id
            where a.claim_id = e.claim_id and a.stance in ('cannot_confirm', 'declines_to_confirm', 'neither_confirms_nor_denies', 'doubts')) as not_confirmed_by,
          e.status_reason
        from claim_evidence e
        where e.evidence_status in ('contested', 'denied_by_party_only', 'denied')
        order by e.evidence_status, e.supporting_origins desc""", ["evidence_status"],
        ["supported_by", "denied_by", "not_confirmed_by"]),
    "denials": ("""
        select s.name as denied_by, c.claim, a.document_id, a.excerpt, 'appearances/' || a.id as row
        from appearances a join claims c on c.id = a.claim_id join actors s on s.id = a.speaker_id
        where a.stance = 'denies' and (coalesce(:denier, '') = '' or a.speaker_id = :denier)
        order by s.name, a.id""", ["denied_by", "row"], []),
    "single_source_claims": ("""
        select e.claim, e.topic, e.direction, e.appearances, 'claims/' || e.claim_id as row,
          (select group_concat(distinct s.name) from appearances a join actors s on s.id = a.speaker_id
            where a.claim_id = e.claim_id) as source
        from claim_evidence e where e.evidence_status = 'single_origin'
        order by e.topic, e.claim""", ["topic", "claim"], ["source"]),
    "weapon_systems_by_status": ("""
        select w.name as weapon_system, w.category, m.status, m.direction, count(*) as mentions,
          'weapon_systems/' || w.id as row
        from weapon_mentions m join weapon_systems w on w.id = m.weapon_system_id
        where coalesce(:status, '') = '' or m.status = :status
        group by w.id, m.status, m.direction
        order by m.status, mentions desc, weapon_system""", ["status", "mentions", "weapon_system"], []),
    "parties_vs_third_parties": ("""
        select case when root.conflict_party then 'party to the conflict' else 'third party' end as speaker_side,
          root.name as organisation, a.stance, count(*) as appearances, count(distinct a.claim_id) as claims
        from appearances a join actor_roots r on r.actor_id = a.speaker_id
        join actors root on root.id = r.root_id
        group by speaker_side, organisation, a.stance
        order by speaker_side, appearances desc""", ["speaker_side", "appearances"], []),
}


def canned_sql() -> dict:
    import yaml
    from .conftest import ROOT
    meta = yaml.safe_load((ROOT / "metadata.yml").read_text(encoding="utf-8"))
    return {name: q["sql"] for name, q in meta["databases"]["nk_russia"]["queries"].items()}


def answer(conn, sql: str, params: dict, lists: list[str]) -> tuple[list[str], list[dict]]:
    cursor = conn.execute(sql, params)
    columns = [d[0] for d in cursor.description]
    rows = [dict(zip(columns, r)) for r in cursor]
    for r in rows:  # group_concat(distinct ...) lists names in whatever order SQLite visited the rows
        for c in lists:
            r[c] = sorted(r[c].split(",")) if r[c] is not None else None
    return columns, rows


def parameter_cases(conn) -> list[tuple[str, dict]]:
    denier = conn.execute("select speaker_id from appearances where stance = 'denies' order by id limit 1").fetchone()[0]
    return ([(name, {}) for name in BEFORE]
            + [("denials", {"denier": ""}), ("denials", {"denier": denier}), ("denials", {"denier": "nobody"})]
            + [("weapon_systems_by_status", {"status": s}) for s in ("", "reported", "denied", "context")])



@pytest.mark.parametrize("database", ["curated", "generated"])
def test_canned_queries_answer_as_before_from_the_derived_tables(built, generated_build, database):
    conn = read_only((built if database == "curated" else generated_build)["db"])
    conn.row_factory = None
    now = canned_sql()
    derived = {name for name, _, _ in DERIVED}
    try:
        for name, params in parameter_cases(conn):
            sql, order, lists = BEFORE[name]
            params = {**{p: "" for p in ("denier", "status") if f":{p}" in sql}, **params}
            old_columns, old = answer(conn, sql, params, lists)
            new_columns, new = answer(conn, now[name], params, lists)
            assert new_columns == old_columns, name
            key = lambda r: json.dumps(r, sort_keys=True, default=str)
            assert sorted(map(key, new)) == sorted(map(key, old)), (name, params)
            assert [[r[c] for c in order] for r in new] == [[r[c] for c in order] for r in old], (name, params)
            assert tables_read(conn, now[name], params) <= derived, name
            assert old or database == "curated" or params.get("denier") == "nobody", (name, params)  # not vacuous
    finally:
        conn.close()


def test_every_derived_table_and_column_is_described(conn):
    """Derived tables are described in metadata.yml (the schema holds only the curated ones)."""
    import yaml
    from .conftest import ROOT
    tables = yaml.safe_load((ROOT / "metadata.yml").read_text(encoding="utf-8"))["databases"]["nk_russia"]["tables"]
    for name, _, _ in DERIVED:
        columns = [r[1] for r in conn.execute(f"PRAGMA table_info({name})")]
        assert columns and tables[name].get("description"), name
        assert set(tables[name].get("columns", {})) == set(columns), name


def test_increments_are_never_charted_as_counts_of_troops(conn):
    """'an additional 1,500' is soldiers added to an earlier figure: troop_estimate_points leaves it out."""
    increments = {r[0] for r in conn.execute("SELECT id FROM troop_estimates WHERE qualifier = 'additional'")}
    assert increments  # the curated data has one (003-te-03), so this can fail
    charted = {r[0] for r in conn.execute("SELECT troop_estimate_id FROM troop_estimate_points")}
    assert charted and not increments & charted
