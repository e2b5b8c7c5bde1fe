"""`make bench` in its quick mode (the smallest scale, short runs), as CI runs it: end to end, every figure present."""
import json
import shutil
import subprocess
import sys

import pytest

from .conftest import ROOT


def test_quick_bench_runs_end_to_end(tmp_path):
    if not shutil.which("wrk"):
        import os
        if os.environ.get("CI"):
            pytest.fail("wrk is not installed (.ci/run installs it)")
        pytest.skip("wrk is not installed")
    results, report = tmp_path / "results.json", tmp_path / "BENCHMARKS.md"
    subprocess.run([sys.executable, "-m", "bench.run", "--quick", "--seconds", "1", "--results", str(results),
                    "--report", str(report)], cwd=ROOT, check=True, timeout=900)
    data = json.loads(results.read_text(encoding="utf-8"))
    (scale,) = data["scales"].values()
    build = scale["build"]
    for key in ("ours", "raw_executemany", "csvs_to_sqlite"):
        assert build[key]["seconds"] > 0 and build[key]["peak_rss_mb"] > 0
    assert build["ratio_vs_raw"] == pytest.approx(build["ours"]["seconds"] / build["raw_executemany"]["seconds"], rel=0.01)
    ours = scale["serving"]["ours"]
    assert {"home", "table_html", "table_json", "faceted_table", "full_text_search", "row_page", "document_page",
            "csv_export"} <= set(ours)
    assert all(page["status"] == 200 for page in ours.values()), {k: v["status"] for k, v in ours.items()}
    assert data["targets"] and all("met" in t for t in data["targets"])
    assert set(build["ours"]["stages"]) >= {"read", "validate", "load", "full-text search"}
    assert sum(build["ours"]["stages"].values()) <= build["ours"]["seconds"]
    text = report.read_text(encoding="utf-8")
    assert "## Build" in text and "## Serving" in text and "## Targets" in text and "seconds per stage" in text
    again = tmp_path / "again.md"
    subprocess.run([sys.executable, "-m", "bench.run", "--report-only", "--results", str(results), "--report", str(again)],
                   cwd=ROOT, check=True, timeout=120)
    assert again.read_text(encoding="utf-8") == text
