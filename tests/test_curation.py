"""The curated data is complete and self-consistent (issue: curation of all five documents)."""
import re
from pathlib import Path

import pytest

from scripts.evidence import STATUSES
from scripts.schema import constraints, foreign_keys, resources

from .conftest import DATA

QUALIFIER_COLUMN = {"stated": "value_best", "approx": "value_best", "additional": "value_best",
                    "total": "value_best", "up_to": "value_high", "over": "value_low"}
MULTIPLIERS = {"million": 1_000_000, "thousand": 1_000}


def number_in(wording: str) -> int:
    m = re.search(r"(\d[\d,]*(?:\.\d+)?)(?:\s*|-)?(million|thousand)?", wording)
    assert m, f"no figure in {wording!r}"
    value = float(m.group(1).replace(",", "")) * MULTIPLIERS.get(m.group(2), 1)
    return round(value)


@pytest.mark.parametrize("wording, value", [("up to 3,000", 3000), ("1.2 million-strong", 1_200_000), ("over 10,000", 10000)])
def test_number_in_reads_printed_figures(wording, value):
    assert number_in(wording) == value


def test_troop_figures_agree_with_their_wording(conn):
    rows = conn.execute("SELECT * FROM troop_estimates").fetchall()
    assert rows
    for r in rows:
        column = QUALIFIER_COLUMN[r["qualifier"]]
        assert r[column] == number_in(r["original_wording"]), r["id"]
        others = {"value_low", "value_best", "value_high"} - {column}
        assert all(r[c] is None for c in others), f"{r['id']}: a bound was turned into another value"


def test_every_claim_has_an_appearance(conn):
    orphans = conn.execute("SELECT id FROM claims WHERE id NOT IN (SELECT claim_id FROM appearances)").fetchall()
    assert [r[0] for r in orphans] == []


def referenced_ids(conn, pkg, target):
    ids = set()
    for res in resources(pkg):
        for field, to, _ in foreign_keys(res):
            if to == target:
                ids |= {r[0] for r in conn.execute(f"SELECT {field} FROM {res['name']} WHERE {field} IS NOT NULL")}
    return ids


@pytest.mark.parametrize("table", ["actors", "weapon_systems"])
def test_every_entity_is_referenced(conn, pkg, table):
    all_ids = {r[0] for r in conn.execute(f"SELECT id FROM {table}")}
    assert sorted(all_ids - referenced_ids(conn, pkg, table)) == []


def test_every_document_is_curated(conn):
    empty = conn.execute("SELECT id FROM documents WHERE id NOT IN (SELECT document_id FROM appearances)").fetchall()
    assert [r[0] for r in empty] == []


def codebook_sections() -> dict[str, str]:
    text = (DATA / "CODEBOOK.md").read_text(encoding="utf-8")
    sections = {}
    for heading, body in re.findall(r"^### ([^\n]+)\n(.*?)(?=^#{2,3} |\Z)", text, flags=re.M | re.S):
        for name in heading.split(","):
            sections[name.strip()] = body
    return sections


def test_every_enum_value_is_defined_in_the_codebook(pkg):
    sections = codebook_sections()
    for res in resources(pkg):
        for field in res["schema"]["fields"]:
            values = constraints(field).get("enum")
            if not values:
                continue
            key = f"{res['name']}.{field['name']}"
            assert key in sections, f"CODEBOOK.md has no section '### {key}'"
            defined = set(re.findall(r"^- `([^`]+)` —", sections[key], flags=re.M))
            assert defined == set(values), f"{key}: codebook {sorted(defined)} vs schema {sorted(values)}"


def test_evidence_status_is_derived_for_every_claim(conn):
    statuses = dict(conn.execute("SELECT claim_id, evidence_status FROM claim_evidence").fetchall())
    assert set(statuses) == {r[0] for r in conn.execute("SELECT id FROM claims")}
    assert set(statuses.values()) <= set(STATUSES)
