"""Stage 4: tables are created from the schema and loaded, on a temporary database."""
from scripts.load import create_table_sql, load_all
from scripts.locate import TEXTS, offsets
from scripts.schema import field_names, resources, verbatim_fields
from scripts.validate import suspects

from .conftest import stage_text


def test_ddl_declares_keys_not_null_and_enum_checks(pkg):
    from scripts.schema import resource
    sql = create_table_sql(resource(pkg, "appearances"))
    assert '"id" TEXT PRIMARY KEY NOT NULL' in sql
    assert 'REFERENCES "claims"("id")' in sql
    assert "CHECK (\"stance\" IN ('asserts'" in sql


def test_rows_load_typed_and_sorted_by_key_whatever_their_order(pkg, staging, tmp_path):
    staging.execute(f"CREATE TABLE {TEXTS} (id, text)")
    staged = {}
    for res in resources(pkg):  # every other table empty: its header only
        header = ",".join(field_names(res)) + "\n"
        rows = "b,B,diplomacy,,\na,A,diplomacy,ru_to_kp,\n" if res["name"] == "claims" else ""
        located = [offsets(lambda doc_id: None)] if any(w == "document" for _, w in verbatim_fields(res)) else []
        staged[res["name"]] = stage_text(staging, pkg, tmp_path, res["name"], header + rows, [suspects, *located])[0]
    assert not staged["claims"].in_key_order
    load_all(staging, pkg, staged)
    assert staging.execute("SELECT id, direction, subject_id FROM main.claims ORDER BY rowid").fetchall() == [("a", "ru_to_kp", None), ("b", None, None)]


def test_a_filtered_table_page_reads_its_rows_in_key_order_from_an_index(pkg, conn):
    """Datasette orders a filtered table page by the key: each filter column's index carries the key, so the
    page stops after its rows instead of sorting every match (seconds at a million rows)."""
    from scripts.schema import facet_fields, primary_key, quote_identifier
    checked = 0
    for res in resources(pkg):
        pk = primary_key(res)
        for col in facet_fields(res):
            if col == pk:
                continue
            sql = (f"SELECT * FROM {quote_identifier(res['name'])} WHERE {quote_identifier(col)} = ? "
                   f"ORDER BY {quote_identifier(pk)} LIMIT 51")
            plan = " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, ["x"]))
            assert f"USING INDEX idx_{res['name']}_{col} " in plan and "TEMP B-TREE" not in plan, plan
            checked += 1
    assert checked > 20
