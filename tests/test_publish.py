"""Stage 6: Datasette metadata and the exported data package come from the schema."""
import json

from frictionless import Package

from scripts.publish import merged_metadata
from scripts.schema import all_fields, resources

from .conftest import DATA


def test_every_column_description_comes_from_the_schema(pkg, built):
    meta = json.loads(built["metadata"].read_text(encoding="utf-8"))
    tables = meta["databases"]["nk_russia"]["tables"]
    for res in resources(pkg):
        assert tables[res["name"]]["description"] == res["description"]
        assert tables[res["name"]]["columns"] == {f["name"]: f["description"] for f in all_fields(res)}


def test_site_settings_survive_the_merge(pkg):
    site = {"title": "T", "databases": {"nk_russia": {"tables": {"claims": {"facets": ["topic"]}}}}}
    meta = merged_metadata(site, pkg)
    assert meta["title"] == "T"
    assert meta["databases"]["nk_russia"]["tables"]["claims"]["facets"] == ["topic"]
    assert site["databases"]["nk_russia"]["tables"]["claims"] == {"facets": ["topic"]}  # input untouched


def test_exported_package_validates_and_matches_the_database(built, conn):
    report = Package(str(built["dist"] / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]
    for res in Package(str(built["dist"] / "datapackage.json")).resources:
        count = conn.execute(f"SELECT count(*) FROM {res.name}").fetchone()[0]
        assert len(res.read_rows()) == count


def test_data_package_export_runs_aside_and_replaces_dist_whole_or_not_at_all(pkg, built, tmp_path):
    from scripts.publish import DistExport
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "old.csv").write_text("stale")
    export = DistExport(built["db"], DATA / "datapackage.json", dist)
    export.discard()
    assert not export.folder.exists() and [p.name for p in tmp_path.iterdir()] == ["dist"]
    assert (dist / "old.csv").read_text() == "stale"
    export = DistExport(built["db"], DATA / "datapackage.json", dist)
    export.wait()
    export.publish()
    assert sorted(p.name for p in dist.iterdir()) == sorted(p.name for p in built["dist"].iterdir())
    assert all((dist / p.name).read_bytes() == p.read_bytes() for p in built["dist"].iterdir())
    assert [p.name for p in tmp_path.iterdir()] == ["dist"]
