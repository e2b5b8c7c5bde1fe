"""scripts/rules.py: the cross-field rules declared in data/datapackage.json, as SQL over staged rows."""
import pytest

from scripts.rules import figure_problems, row_rule_sql, rules, unique_pair_rows
from scripts.schema import field_names, primary_key, resource
from scripts.validate import check_cells, suspects

from .conftest import stage_text

RELATIONS = "id,claim_id,relation,related_claim_id,basis\n"


def relation_rule(pkg, kind):
    (rule,) = rules(resource(pkg, "claim_relations"), kind)
    return rule


def test_every_declared_rule_has_a_known_kind_and_compiles(pkg):
    kinds = {"ordered", "filledBy", "different", "datePrecision", "uniquePair", "referencedBy", "retires", "figuresFromWording"}
    for res in pkg["resources"]:
        for rule in rules(res):
            assert rule["kind"] in kinds, rule
            if rule["kind"] in ("ordered", "filledBy", "different"):
                assert row_rule_sql(rule)
            for key in ("fields", "among"):
                assert set(rule.get(key, [])) <= set(field_names(res)), (res["name"], rule["name"])


def test_directional_relations_may_go_both_ways_symmetric_ones_may_not(pkg, staging, tmp_path):
    text = RELATIONS + "".join(f"r{i},{a},{rel},{b},x\n" for i, (a, rel, b) in enumerate([
        ("a", "refines", "b"), ("b", "refines", "a"),  # a refines b and b refines a: two statements
        ("a", "corroborates", "b"), ("b", "corroborates", "a"),  # the same statement twice
        ("c", "contradicts", "d"), ("c", "contradicts", "d"),  # the same statement twice
        ("c", "responds_to", "d"), ("c", "refines", "d")]))  # another relation between the same pair
    source, problems, _ = stage_text(staging, pkg, tmp_path, "claim_relations", text, [suspects])
    assert problems == []
    found = [(line, message) for _, line, _, message, _ in unique_pair_rows(staging, source, relation_rule(pkg, "uniquePair"))]
    assert sorted(line for line, _ in found) == [5, 7]
    assert all("already recorded on line" in m for _, m in found)


def test_row_rules_are_judged_only_on_valid_cells(pkg, staging, tmp_path):
    """A relation to itself is reported by its rule; a row whose cells are wrong gets the cell's message alone."""
    text = RELATIONS + "r1,a,refines,a,x\nr2,b,refine,b,x\n"
    source, _, _ = stage_text(staging, pkg, tmp_path, "claim_relations", text, [suspects])
    problems, bad = [], set()
    check_cells(staging, source, problems, bad)
    assert [(p.line, p.column_name, "itself" in p.message) for p in problems] == [(2, "related_claim_id", True), (3, "relation", False)]


@pytest.mark.parametrize("values, column", [
    ({"value_low": 5000, "value_best": None, "value_high": 3000, "qualifier": "range", "original_wording": "5,000 to 3,000"}, None),
    ({"value_low": None, "value_best": None, "value_high": 3000, "qualifier": "up_to", "original_wording": "up to 3,000"}, None),
    ({"value_low": None, "value_best": None, "value_high": None, "qualifier": "unquantified", "original_wording": "several thousand"}, None),
    ({"value_low": None, "value_best": 1500, "value_high": None, "qualifier": "additional", "original_wording": "1,500 more"}, None),
    ({"value_low": None, "value_best": 1500, "value_high": None, "qualifier": "stated", "original_wording": "several thousand"}, "value_best"),
    ({"value_low": None, "value_best": 1500, "value_high": None, "qualifier": "approx", "original_wording": "1,500"}, "qualifier"),
    ({"value_low": None, "value_best": 1500, "value_high": None, "qualifier": "stated", "original_wording": "1,500 or 2,000"}, "original_wording"),
])
def test_troop_figures_against_their_wording(pkg, values, column):
    (rule,) = rules(resource(pkg, "troop_estimates"), "figuresFromWording")
    problems = figure_problems(rule, values)
    assert [p[0] for p in problems][:1] == ([column] if column else [])


def test_every_date_group_declares_its_precision_rule(pkg):
    """A date group left out of the rules would go unchecked: each X_start, X_end, X_precision has one."""
    for res in pkg["resources"]:
        names = field_names(res)
        groups = {n.removesuffix("_precision") for n in names
                  if n.endswith("_precision") and {n.replace("_precision", "_start"), n.replace("_precision", "_end")} <= set(names)}
        assert groups == {r["prefix"] for r in rules(res, "datePrecision")}, res["name"]


def test_every_table_with_stable_ids_can_retire_them(pkg):
    """retired_ids.table_name lists every other table keyed by a stable `id` (a lookup keyed by its own text, such as
    an alias, has no ID to retire)."""
    (rule,) = rules(resource(pkg, "retired_ids"), "retires")
    field = next(f for f in resource(pkg, "retired_ids")["schema"]["fields"] if f["name"] == rule["table"])
    assert field["constraints"]["enum"] == [r["name"] for r in pkg["resources"]
                                            if r["name"] != "retired_ids" and primary_key(r) == "id"]
