"""The curated data is complete and self-consistent (issue: curation of all five documents)."""
import re

import pytest

from scripts.evidence import STATUSES
from scripts.rules import codebook_section
from scripts.schema import constraints, foreign_keys, resources

from .conftest import DATA


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


def test_codebook_lists_the_declared_cross_field_rules(pkg):
    """The section is generated from the package (python -m scripts.rules): the two cannot drift."""
    text = (DATA / "CODEBOOK.md").read_text(encoding="utf-8")
    assert codebook_section(pkg) in text
    for res in resources(pkg):
        for rule in res.get("rules", []):
            assert rule["description"].strip() and rule["name"], (res["name"], rule)


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
