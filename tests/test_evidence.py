"""Evidence model v2 (scripts/evidence.py): constructed cases on a real build of FIXTURE data, and properties
of the curated and generated builds. The fixture texts and rows (tests/fixtures/evidence/) are invented,
one claim per case; they are not news."""
import csv
import re
import shutil

import pytest
from markupsafe import escape

from scripts.build import build
from scripts.evidence import RULES, STATUSES, UNNAMED_KINDS

from .conftest import DATA, ROOT, read_only
from .test_curation import codebook_sections

FIXTURE = ROOT / "tests" / "fixtures" / "evidence"


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory, pkg):
    """The fixture CSVs with the real schema (other tables empty), built by the real build."""
    out = tmp_path_factory.mktemp("evidence-fixture")
    data = out / "data"
    shutil.copytree(FIXTURE / "data", data)
    shutil.copy(DATA / "datapackage.json", data / "datapackage.json")
    for res in pkg["resources"]:
        if not (data / res["path"]).exists():
            with open(data / res["path"], "w", encoding="utf-8", newline="") as f:
                csv.writer(f, lineterminator="\n").writerow([field["name"] for field in res["schema"]["fields"]])
    db = out / "nk_russia.db"
    build(data, FIXTURE / "seeds", db)
    conn = read_only(db)
    yield conn
    conn.close()


def origins(conn, claim):
    return [dict(r) for r in conn.execute("SELECT * FROM claim_origins WHERE claim_id = ? ORDER BY origin_id", [claim])]


def status(conn, claim):
    return conn.execute("SELECT evidence_status FROM claim_evidence WHERE claim_id = ?", [claim]).fetchone()[0]


def test_joint_statement_is_one_origin_listing_every_body(fixture_db):
    joint, beta_again = origins(fixture_db, "widget")
    assert joint["appearance_ids"] == "fx-01, fx-02" and joint["merged_by"] == "same_sentence"
    assert joint["actors"] == "Fixture State Alpha; Fixture State Beta"
    # Beta speaking again elsewhere shares an organisation with the joint statement: not independent
    assert beta_again["counted"] and beta_again["independent_group"] == joint["independent_group"]
    assert status(fixture_db, "widget") == "single_origin"


def test_speaker_split_into_several_actors_in_one_sentence_is_one_origin(fixture_db):
    (origin,) = origins(fixture_db, "gadget")
    assert origin["appearances"] == 2 and origin["actor_ids"] == "example-person, unnamed-analysts"
    assert not origin["anonymous"]  # a named analyst is among them
    assert status(fixture_db, "gadget") == "single_origin"


def test_article_voice_counts_only_where_no_source_in_the_document_says_it(fixture_db):
    by_id = {o["origin_id"]: o for o in origins(fixture_db, "crate")}
    assert by_id["fx-06"]["counted"] == 0 and by_id["fx-06"]["discounted_by"] == "article_restates_source"
    assert by_id["fx-15"]["counted"] == 1  # document 902 says it with no source: it adds something
    assert status(fixture_db, "crate") == "corroborated"


def test_later_confirmation_supersedes_cannot_confirm_and_both_are_shown(fixture_db):
    by_id = {o["origin_id"]: o for o in origins(fixture_db, "box")}
    earlier, later = by_id["fx-07"], by_id["fx-14"]
    assert earlier["discounted_by"] == "superseded" and earlier["superseded_by"] == "fx-14"
    assert (earlier["date_used"], earlier["date_source"]) == ("2024-01-10", "document")
    assert later["counted"] == 1 and later["date_used"] == "2024-03"
    assert status(fixture_db, "box") == "corroborated"


def test_later_doubt_supersedes_earlier_support(fixture_db):
    by_id = {o["origin_id"]: o for o in origins(fixture_db, "drum")}
    assert by_id["fx-13"]["discounted_by"] == "superseded" and by_id["fx-17"]["counted"] == 1
    assert status(fixture_db, "drum") == "contested"


def test_undated_counter_stance_of_a_supporter_is_not_independent(fixture_db):
    by_id = {o["origin_id"]: o for o in origins(fixture_db, "lid")}
    assert by_id["fx-20"]["date_used"] is None  # document 903 is undated: nothing orders the two
    assert by_id["fx-20"]["discounted_by"] == "own_counter_stance"
    assert status(fixture_db, "lid") == "single_origin"


def test_a_denial_counts_only_against_the_claim_it_denies(fixture_db):
    assert status(fixture_db, "workers-sent") == "single_origin"
    assert status(fixture_db, "workers-used") == "denied_by_party_only"
    assert status(fixture_db, "rod") == "denied"


def test_anonymous_only_is_unverified(fixture_db):
    (origin,) = origins(fixture_db, "parcel")
    assert origin["anonymous"] == 1 and origin["counted"] == 0 and origin["discounted_by"] == "anonymous"
    assert status(fixture_db, "parcel") == "unverified"


def test_every_fixture_claim_is_a_case(fixture_db):
    """Not vacuous: every status and every rule is reached by some fixture case."""
    assert {r[0] for r in fixture_db.execute("SELECT DISTINCT evidence_status FROM claim_evidence")} == set(STATUSES) - {"unconfirmed"}
    used = {r[0] for r in fixture_db.execute("SELECT discounted_by FROM claim_origins WHERE discounted_by IS NOT NULL "
                                             "UNION SELECT merged_by FROM claim_origins WHERE merged_by IS NOT NULL")}
    assert used == set(RULES)


# ---- the codebook and the build say the same --------------------------------------------------

def test_codebook_defines_each_status_and_rule_in_the_builds_words():
    sections = codebook_sections()
    for key, table in (("claim_evidence.evidence_status", STATUSES), ("claim_origins.discounted_by", RULES)):
        defined = dict(re.findall(r"^- `([^`]+)` — (.+)$", sections[key], flags=re.M))
        assert defined == {code: text for code, (_, text) in table.items()}, key


# ---- properties of real builds ------------------------------------------------------------------

@pytest.fixture(params=["curated", "generated"])
def any_build(request, built, generated_build):
    conn = read_only((built if request.param == "curated" else generated_build)["db"])
    yield conn
    conn.close()


def test_every_appearance_is_in_exactly_one_origin_of_its_claim(any_build):
    covered = {}
    for origin_id, claim, ids in any_build.execute("SELECT origin_id, claim_id, appearance_ids FROM claim_origins"):
        for a in ids.split(", "):
            assert a not in covered, a
            covered[a] = claim
    assert covered == dict(any_build.execute("SELECT id, claim_id FROM appearances"))


def test_one_sentence_never_corroborates(any_build):
    """No corroborated claim whose counted supporting origins all lie in one sentence, or share an organisation."""
    rows = any_build.execute("""
        SELECT e.claim_id, count(DISTINCT o.document_id || ':' || o.sentence_start), count(DISTINCT o.independent_group)
        FROM claim_evidence e JOIN claim_origins o ON o.claim_id = e.claim_id AND o.counted AND o.stance = 'supports'
        WHERE e.evidence_status = 'corroborated' GROUP BY e.claim_id""").fetchall()
    assert rows  # there are corroborated claims
    for claim, sentences, groups in rows:
        assert sentences >= 2 and groups >= 2, claim


def test_statuses_follow_from_the_counted_origins(any_build):
    for row in any_build.execute("SELECT * FROM claim_evidence"):
        s = row["evidence_status"]
        assert s in STATUSES
        if s in ("corroborated", "single_origin", "contested", "denied_by_party_only"):
            assert row["supporting_origins"] >= (2 if s == "corroborated" else 1), row["claim_id"]
        else:
            assert row["supporting_origins"] == 0, row["claim_id"]
        countered = row["denying_origins"] + row["unconfirming_origins"]
        if s in ("contested", "denied_by_party_only", "denied"):
            assert countered > 0, row["claim_id"]
        if s in ("corroborated", "single_origin"):
            assert countered == 0, row["claim_id"]
        if s == "denied":
            assert row["denying_origins"] > 0, row["claim_id"]


def test_anonymous_origins_never_count(any_build):
    kinds = ", ".join(f"'{k}'" for k in UNNAMED_KINDS)
    bad = any_build.execute(f"""
        SELECT o.origin_id FROM claim_origins o WHERE o.counted AND NOT EXISTS (
          SELECT 1 FROM appearances a JOIN actors s ON s.id = a.speaker_id
          WHERE a.claim_id = o.claim_id AND instr(', ' || o.appearance_ids || ', ', ', ' || a.id || ', ')
            AND s.kind NOT IN ({kinds}))""").fetchall()
    assert bad == []


def test_party_only_denial_has_only_party_counter_evidence(any_build):
    for (claim,) in any_build.execute("SELECT claim_id FROM claim_evidence WHERE evidence_status = 'denied_by_party_only'"):
        counter = any_build.execute("SELECT party_to_conflict FROM claim_origins WHERE claim_id = ? AND counted "
                                    "AND stance != 'supports'", [claim]).fetchall()
        assert counter and all(p for (p,) in counter), claim


def test_article_voice_counted_only_where_it_adds_something(any_build):
    bad = any_build.execute("""
        SELECT o.origin_id FROM claim_origins o
        WHERE o.counted AND o.actor_ids = 'unattributed' AND EXISTS (
          SELECT 1 FROM claim_origins p WHERE p.claim_id = o.claim_id AND p.document_id = o.document_id
            AND p.stance = o.stance AND p.actor_ids != 'unattributed')""").fetchall()
    assert bad == []


# ---- pages say why (plugins/nk_site.py evidence_context, templates/_nk_why.html) ----------------

def test_claim_pages_list_every_origin_and_why(site, conn):
    labels = dict(conn.execute("SELECT code, label FROM evidence_definitions"))
    for claim, status_code, reason in conn.execute("SELECT claim_id, evidence_status, status_reason FROM claim_evidence"):
        page = site(f"/nk_russia/claims/{claim}").text
        assert f'href="/nk_russia/evidence_definitions/{status_code}">{escape(labels[status_code])}</a>' in page, claim
        assert str(escape(reason)) in page, claim
        for o in conn.execute("SELECT * FROM claim_origins WHERE claim_id = ?", [claim]):
            assert f'/nk_russia/claim_origins/{o["origin_id"]}"' in page, (claim, o["origin_id"])
            for rule in (o["merged_by"], o["discounted_by"]):
                if rule:
                    assert f'/nk_russia/evidence_definitions/{rule}">{escape(labels[rule])}</a>' in page, (claim, rule)


def test_a_row_page_marks_the_origin_holding_the_row(site, conn):
    origin = conn.execute("SELECT origin_id, appearance_ids FROM claim_origins WHERE merged_by IS NOT NULL "
                          "ORDER BY origin_id LIMIT 1").fetchone()
    second = origin["appearance_ids"].split(", ")[1]
    page = site(f"/nk_russia/appearances/{second}").text
    here = page[page.index('class="nk-here"'):]
    assert here.index(f'/nk_russia/claim_origins/{origin["origin_id"]}"') < here.index("</tr>")
    assert "(this row)" in here[:here.index("</tr>")]


def test_home_shows_v2_statuses_linked_to_their_definitions(site, conn):
    page = site("/").text
    shown = conn.execute("SELECT claim_id, evidence_status, status_reason FROM claim_evidence WHERE evidence_status IN "
                         "('contested', 'denied_by_party_only', 'denied')").fetchall()
    assert shown
    for claim, status_code, reason in shown:
        assert f"/nk_russia/claims/{claim}" in page and str(escape(reason)) in page
    for code in STATUSES:
        assert f'href="/nk_russia/evidence_definitions/{code}"' in page
        assert site(f"/nk_russia/evidence_definitions/{code}").status_code == 200
