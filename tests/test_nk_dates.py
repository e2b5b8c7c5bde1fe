"""Normalised dates (scripts/load.py, declared in data/datapackage.json) and date facets (plugins/nk_dates.py)."""
import pytest

from scripts.schema import all_fields, derived_fields, normalised_dates, resources

DATED = [("appearances", "stated"), ("troop_estimates", "as_of"), ("documents", "date")]


def normalised_of(pkg, table):
    res = next(r for r in resources(pkg) if r["name"] == table)
    (field,) = [f for f in derived_fields(res) if f.get("normalisedDate")]
    return res, field["name"]


@pytest.mark.parametrize("table, prefix", DATED)
def test_each_partial_date_has_its_first_day_beside_it(pkg, conn, table, prefix):
    res, column = normalised_of(pkg, table)
    names = [f["name"] for f in all_fields(res)]
    assert names.index(column) == names.index(f"{prefix}_precision") + 1
    assert [r[1] for r in conn.execute(f"pragma table_info({table})")] == names
    rows = conn.execute(f"select {prefix}_start, {column} from {table}").fetchall()
    assert any(start for start, _ in rows)
    for start, day in rows:
        assert day == (None if start is None else (start + "-01-01")[:10] if len(start) == 4 else (start + "-01")[:10])


def test_sorting_by_the_normalised_date_is_chronological(site, conn):
    rows = site("/nk_russia/troop_estimates.json?_shape=array&_sort=as_of_date&_size=max").json()
    days = [r["as_of_date"] for r in rows if r["as_of_date"]]
    assert len(days) > 2 and days == sorted(days)


@pytest.mark.parametrize("table, prefix", DATED)
def test_a_date_facet_on_a_partial_date_uses_the_normalised_day(pkg, site, conn, table, prefix):
    _, column = normalised_of(pkg, table)
    for raw in (f"{prefix}_start", f"{prefix}_end"):
        redirect = site(f"/nk_russia/{table}.json?_facet_date={raw}")
        assert redirect.status_code == 302 and redirect.headers["location"].endswith(f"_facet_date={column}")
    facet = site(f"/nk_russia/{table}.json?_facet_date={column}").json()["facet_results"][column]["results"]
    expected = dict(conn.execute(f"select {column}, count(*) from {table} where {column} is not null group by 1"))
    assert {r["value"]: r["count"] for r in facet} == expected
    # every value a real day of the sources' years, not a Julian-day reading of "2023"
    assert all("2000" < r["value"] < "2100" for r in facet)


def test_the_mapping_covers_start_and_end_of_every_dated_table(pkg):
    for table, prefix in DATED:
        res, column = normalised_of(pkg, table)
        assert normalised_dates(res) == {f"{prefix}_start": column, f"{prefix}_end": column}
