"""The declared schema is complete and coherent, and the CSVs and the database follow it."""
from scripts.schema import all_fields, field_names, foreign_keys, load_order, primary_key, resources

from .conftest import DATA, read_csv


def test_every_table_and_field_is_described(pkg):
    for res in resources(pkg):
        assert res.get("title") and res.get("description"), res["name"]
        for field in all_fields(res):
            assert field.get("description", "").strip(), f"{res['name']}.{field['name']} has no description"


def test_foreign_keys_point_at_declared_primary_keys(pkg):
    names = {res["name"]: res for res in resources(pkg)}
    for res in resources(pkg):
        for field, target, ref in foreign_keys(res):
            assert field in field_names(res)
            assert ref == primary_key(names[target])


def test_ids_are_text_so_leading_zeros_survive(pkg):
    for res in resources(pkg):
        pk = primary_key(res)
        assert next(f for f in all_fields(res) if f["name"] == pk)["type"] == "string"
        for field, _, _ in foreign_keys(res):
            assert next(f for f in all_fields(res) if f["name"] == field)["type"] == "string"


def test_csv_headers_match_the_schema(pkg):
    for res in resources(pkg):
        header, _ = read_csv(DATA / res["path"])
        assert header == field_names(res), res["path"]


def test_load_order_puts_referenced_tables_first(pkg):
    order = [res["name"] for res in load_order(pkg)]
    for res in resources(pkg):
        for _, target, _ in foreign_keys(res):
            assert order.index(target) <= order.index(res["name"])


def test_database_columns_are_the_schema_columns(pkg, conn):
    for res in resources(pkg):
        cols = [r["name"] for r in conn.execute(f"PRAGMA table_info('{res['name']}')")]
        assert cols == [f["name"] for f in all_fields(res)]


def test_database_declares_the_schema_foreign_keys(pkg, conn):
    for res in resources(pkg):
        declared = {(r["from"], r["table"], r["to"]) for r in conn.execute(f"PRAGMA foreign_key_list('{res['name']}')")}
        assert declared == set(foreign_keys(res))


def test_source_package_validates_with_frictionless():
    from frictionless import Package
    report = Package(str(DATA / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]


def test_categorical_codes_are_ascii_and_every_code_has_one_label(pkg):
    """Codes are typed in filters and SQL, so ASCII snake_case; labels (for pages) cover the enum exactly."""
    import re
    from scripts.schema import category_labels, constraints, fields
    for res in resources(pkg):
        for field in fields(res):
            for code in constraints(field).get("enum", []):
                assert re.fullmatch(r"[a-z0-9_]+", code), f"{res['name']}.{field['name']}: {code!r} is not an ASCII code"
            if "categories" in field:
                assert [c["value"] for c in field["categories"]] == constraints(field)["enum"], field["name"]
    labels = category_labels(pkg)
    assert labels["direction"] == {"ru_to_kp": "Russia → North Korea", "kp_to_ru": "North Korea → Russia"}
