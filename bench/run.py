"""`make bench`: build and serving cost at 1e4, 1e5 and 1e6 appearances, against baselines measured in the same run.

    python -m bench.run [--quick] [--scales 10000 100000 1000000] [--seconds 5]

Build: wall time and peak RSS of our full build (validation on) vs. two baselines on the same generated
rows — raw executemany into plain tables (the limit for loading rows), and the same output as ours (typed
tables, indexes, derived tables, coverage, FTS5, facet counts) with raw executemany and no checks
(bench/raw_same_output.py: the limit for our output) — and csvs-to-sqlite (what a user would reach for).
Serving: requests/s, p50 and p99 under 8 concurrent clients (wrk) per page type, for our site as
`make serve` runs it (scripts/serve.py: one worker process per core) vs. stock `datasette` with default
settings (one process, as a user starts it) over the csvs-to-sqlite database.
Writes bench/results.json, BENCHMARKS.md and bench/cost.png. --quick: the smallest scale, short runs (CI).
"""
import argparse
import http.client
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from scripts.loadtest import run_wrk
from scripts.serve import ROOT, default_workers, start, start_site, stop

BENCH = ROOT / "bench"
PY = sys.executable
CLIENTS = 8
TARGETS = {"build_ratio": 1.5, "build_rss_mb": 250, "p99_ms": 300, "table_facet_speedup": 20, "row_document_speedup": 1}
SPEEDUP_PAGES = ("table_html", "table_json", "faceted_table", "full_text_search")
AT_LEAST_STOCK_PAGES = ("row_page", "document_page")


def measure(cmd: list[str], cwd: Path = ROOT) -> dict:
    """Wall seconds and peak RSS (MB) of one child process; raises if it fails."""
    began = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - began
    err = proc.stderr.read().decode()[-2000:]
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd[:4]} failed: {err}")
    return {"seconds": round(seconds, 3), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def generator_version() -> str:
    """The generator and the schema it writes to: generated data is reused only while both are unchanged."""
    import hashlib
    return hashlib.sha256((BENCH / "generate.py").read_bytes() + (ROOT / "data" / "datapackage.json").read_bytes()).hexdigest()


def generate(n: int) -> Path:
    folder = BENCH / f"data-{n}"
    complete, version = folder / "complete", generator_version()
    if not complete.exists() or complete.read_text() != version:
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run([PY, "-m", "bench.generate", "--appearances", str(n), "--out", str(folder)], cwd=ROOT, check=True)
        complete.write_text(version)
    return folder


def has_rows(path: Path) -> bool:
    with open(path, "rb") as f:
        return len(f.read(1 << 16).splitlines()) > 1


def build_all(folder: Path) -> dict:
    """Our build, the raw limit and csvs-to-sqlite on the same rows; outputs kept for serving."""
    out = folder / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    data, seeds = folder / "data", folder / "seeds"
    ours = measure([PY, "-m", "scripts.build", "--data", str(data), "--seeds", str(seeds), "--out", str(out / "nk_russia.db"),
                    "--build-dir", str(out / "build"), "--dist", str(out / "dist"), "--timings", str(out / "timings.json")])
    timings = json.loads((out / "timings.json").read_text(encoding="utf-8"))
    ours["stages"] = timings["stages"]
    # The data package and the facet counts are written by other processes at the same time: all count, summed
    # (an upper bound).
    ours["peak_rss_by_process_mb"] = timings["peak_rss_mb"]
    helpers = sum(v for k, v in timings["peak_rss_mb"].items() if k != "build")  # processes beside the build
    ours["peak_rss_mb"] = round(max(ours["peak_rss_mb"], timings["peak_rss_mb"]["build"]) + helpers, 1)
    raw = measure([PY, "-m", "bench.raw_load", "--data", str(data), "--out", str(out / "raw.db")])
    same = measure([PY, "-m", "bench.raw_same_output", "--data", str(data), "--seeds", str(seeds),
                    "--out", str(out / "raw_same_output.db")])
    # csvs-to-sqlite fails on a CSV with a header and no rows (retired_ids.csv: nothing is retired here).
    with_rows = [p for p in sorted(data.glob("*.csv")) if has_rows(p)]
    csvs = measure([str(Path(PY).parent / "csvs-to-sqlite"), *map(str, with_rows), str(out / "stock.db")])
    for db in ("raw.db", "raw_same_output.db"):
        (out / db).unlink()  # measured; only our database and stock's are served
    return {"ours": ours, "raw_executemany": raw, "raw_same_output": same, "csvs_to_sqlite": csvs,
            "ratio_vs_raw": round(ours["seconds"] / raw["seconds"], 2),
            "ratio_vs_same_output": round(ours["seconds"] / same["seconds"], 2),
            "ratio_vs_csvs_to_sqlite": round(ours["seconds"] / csvs["seconds"], 2)}


def first(db: Path, sql: str):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def our_pages(db: Path) -> dict:
    import yaml
    queries = yaml.safe_load((ROOT / "metadata.yml").read_text(encoding="utf-8"))["databases"]["nk_russia"]["queries"]
    pages = {
        "home": "/",
        "table_html": "/nk_russia/appearances",
        "table_json": "/nk_russia/appearances.json",
        "faceted_table": "/nk_russia/appearances?_facet=stance&_facet=speaker_id",
        "filtered_facets": "/nk_russia/appearances?stance=denies",
        # Where a table page's search lands (?_search= on the HTML page redirects to the ranked search of that
        # table, plugins/nk_search.py); the table's own JSON search is Datasette's, without a full count.
        "full_text_search": "/nk_russia/search?q=troops&in=appearances",
        "table_search_json": "/nk_russia/appearances.json?_search=troops",
        "row_page": f"/nk_russia/appearances/{first(db, 'select id from appearances order by id limit 1')}",
        "document_page": f"/nk_russia/documents/{first(db, 'select id from documents order by id limit 1')}",
        "csv_export": "/nk_russia/claims.csv",
    }
    pages.update({f"query:{name}": f"/nk_russia/{name}?q=troops" if name == "search" else f"/nk_russia/{name}"
                  for name in queries})
    return pages


STOCK_PAGES = {
    "home": "/",
    "table_html": "/stock/appearances",
    "table_json": "/stock/appearances.json",
    "faceted_table": "/stock/appearances?_facet=stance&_facet=speaker_id",
    "filtered_facets": "/stock/appearances?stance=denies",
    "full_text_search": "/stock/appearances?excerpt__contains=troops",  # no FTS index: what a stock user gets
    "row_page": "/stock/appearances/1",
    "document_page": "/stock/documents/1",
    "csv_export": "/stock/claims.csv",
}


def status_of(base: str, path: str) -> tuple[int, str | None]:
    """The status and Cache-Control header of one GET."""
    try:
        with urllib.request.urlopen(base + path, timeout=60) as r:
            return r.status, r.headers.get("cache-control")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("cache-control")


def serve_bench(server: tuple, pages: dict, seconds: int, log: Path) -> dict:
    proc, base = server
    try:
        out = {}
        for name, path in pages.items():
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited ({proc.returncode}); its log:\n{log.read_text()[-3000:]}")
            try:
                status, cache_control = status_of(base, path)  # also warms the page
            except urllib.error.URLError as e:
                raise RuntimeError(f"{path}: {e}; server running: {proc.poll() is None}; its log:\n{log.read_text()[-3000:]}") from e
            figures = run_wrk(base, seconds, CLIENTS, [path])
            out[name] = {"path": path, "status": status, "cache_control": cache_control, **{k: figures[k] for k in (
                "requests_per_second", "p50_ms", "p99_ms", "non_2xx", "timeouts")}}
        return out
    finally:
        stop(proc)


def hashed_serving(db: Path, build_dir: Path, seconds: int, log: Path) -> dict:
    """our_pages as the deploy images serve them (datasette-hashed-urls): each database page at its hashed route,
    with the status and Cache-Control a CDN sees there, and its figures; "redirect" is the plain route's answer."""
    with open(log, "wb") as out:
        proc, base = start_site(db, build_dir, out, hashed_urls=True)
    host, port = base.rsplit("/", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.request("GET", "/nk_russia")  # http.client follows no redirect: the 302 itself
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    route = response.getheader("location")
    pages = {name: route + path[len("/nk_russia"):] if path.startswith("/nk_russia") else path
             for name, path in our_pages(db).items()}
    return {"route": route, "redirect": {"status": response.status, "cache_control": response.getheader("cache-control")},
            "pages": serve_bench((proc, base), pages, seconds, log)}


def serving(folder: Path, seconds: int) -> dict:
    out = folder / "out"
    ours_log, stock_log = out / "server-ours.log", out / "server-stock.log"
    with open(ours_log, "wb") as log:
        ours = serve_bench(start_site(out / "nk_russia.db", out / "build", log), our_pages(out / "nk_russia.db"), seconds, ours_log)
    with open(stock_log, "wb") as log:
        stock = serve_bench(start(["serve", str(out / "stock.db")], log, wait_seconds=300), STOCK_PAGES, seconds, stock_log)
    # None: stock answered no request in the whole run, so no finite ratio exists.
    speedup = {name: round(ours[name]["requests_per_second"] / stock[name]["requests_per_second"], 1)
               if stock[name]["requests_per_second"] > 0 else None for name in STOCK_PAGES}
    return {"ours": ours, "stock": stock, "speedup_vs_stock": speedup}


def check_targets(results: dict) -> list[dict]:
    """Each target at the largest scale measured: met or missed, with the figure."""
    scale = max(results["scales"], key=int)
    r = results["scales"][scale]
    b = r["build"]
    ratio = b.get("ratio_vs_same_output")
    checks = [
        {"target": f"build ≤ {TARGETS['build_ratio']}× the same output with raw executemany, no checks",
         "figure": "not measured" if ratio is None else ratio, "met": ratio is not None and ratio <= TARGETS["build_ratio"]},
        {"target": f"build peak RSS ≤ {TARGETS['build_rss_mb']} MB", "figure": b["ours"]["peak_rss_mb"],
         "met": b["ours"]["peak_rss_mb"] <= TARGETS["build_rss_mb"]},
    ]
    for name, page in r["serving"]["ours"].items():
        ok = page["p99_ms"] <= TARGETS["p99_ms"] and page["non_2xx"] == 0 and page["status"] == 200
        checks.append({"target": f"{name}: p99 ≤ {TARGETS['p99_ms']} ms, no errors", "met": ok,
                       "figure": f"p99 {page['p99_ms']:.0f} ms, status {page['status']}, non-2xx {page['non_2xx']}"})
    for names, least in ((SPEEDUP_PAGES, TARGETS["table_facet_speedup"]), (AT_LEAST_STOCK_PAGES, TARGETS["row_document_speedup"])):
        for name in names:
            s = r["serving"]["speedup_vs_stock"].get(name)
            checks.append({"target": f"{name}: ≥ {least}× stock requests/s", "met": s is None or s >= least,
                           "figure": "stock answered no request" if s is None else s})
    return [{"scale": int(scale), **c} for c in checks]


BUILDS = (("ours", "our build (validated)"), ("raw_same_output", "same output, raw executemany, no checks"),
          ("raw_executemany", "raw executemany (rows only)"), ("csvs_to_sqlite", "csvs-to-sqlite"))
PLOTTED_PAGES = ["home", "table_html", "faceted_table", "full_text_search", "row_page", "document_page", "csv_export"]


def plot(results: dict, path: Path) -> list[str]:
    """Cost against scale: build seconds of ours, both baselines and csvs-to-sqlite (what a stock user builds with);
    p99 of ours and of stock Datasette per page type. Returns the curves' labels."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    scales = sorted(results["scales"], key=int)
    xs = [int(s) for s in scales]
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5))
    for key, label in BUILDS:
        got = [(x, results["scales"][s]["build"][key]["seconds"]) for x, s in zip(xs, scales) if key in results["scales"][s]["build"]]
        if got:
            a.plot(*zip(*got), marker="o", label=label)
    a.set(xscale="log", yscale="log", xlabel="appearances", ylabel="build seconds", title="Build time")
    a.legend(fontsize=7)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, page in enumerate(PLOTTED_PAGES):
        colour = colours[i % len(colours)]
        b.plot(xs, [results["scales"][s]["serving"]["ours"][page]["p99_ms"] for s in scales], marker="o", color=colour, label=page)
        # Stock's p99 where it answered at all (a page it never answered has no point).
        stock = [(x, results["scales"][s]["serving"]["stock"][page]["p99_ms"]) for x, s in zip(xs, scales)
                 if page in results["scales"][s]["serving"]["stock"] and results["scales"][s]["serving"]["stock"][page]["requests_per_second"] > 0]
        if stock:
            b.plot(*zip(*stock), marker="x", linestyle=":", color=colour, label=f"{page} (stock)")
    b.axhline(TARGETS["p99_ms"], color="grey", linestyle="--", label="target p99")
    b.set(xscale="log", yscale="log", xlabel="appearances", ylabel=f"p99 ms ({CLIENTS} clients)",
          title="Serving p99: ours (solid) vs stock Datasette (dotted)")
    b.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [line.get_label() for axes in (a, b) for line in axes.get_lines()]


def stock_cells(stock: dict | None, speedup) -> str:
    if stock is None:
        return "n/a | n/a | n/a |"
    if speedup is None:
        return "0 (none answered) | – | ∞ |"
    return f"{stock['requests_per_second']:.1f} | {stock['p99_ms']:.0f} | {speedup}× |"


def report(results: dict) -> str:
    lines = ["# Benchmarks", "",
             f"Generated by `make bench` at commit {results.get('commit', '?')} on {results['machine']}; {results['mode']} mode; our site on {results.get('workers', '?')} worker processes; {CLIENTS} concurrent clients (wrk), "
             f"{results['seconds_per_page']} s per page. Figures from one run; ratios compare runs made side by side in that run.", "",
             "![cost against scale](bench/cost.png)", "", "## Build", "",
             "| appearances | ours s | ours peak MB | same output, raw s | its MB | raw executemany s | raw MB | csvs-to-sqlite s | csvs MB | ours ÷ same output | ours ÷ raw | ours ÷ csvs-to-sqlite |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for s, r in sorted(results["scales"].items(), key=lambda kv: int(kv[0])):
        b = r["build"]
        same = b.get("raw_same_output", {})
        lines.append(f"| {int(s):,} | {b['ours']['seconds']} | {b['ours']['peak_rss_mb']} | {same.get('seconds', '–')} | "
                     f"{same.get('peak_rss_mb', '–')} | {b['raw_executemany']['seconds']} | "
                     f"{b['raw_executemany']['peak_rss_mb']} | {b['csvs_to_sqlite']['seconds']} | {b['csvs_to_sqlite']['peak_rss_mb']} | "
                     f"{b.get('ratio_vs_same_output', '–')} | {b['ratio_vs_raw']} | {b['ratio_vs_csvs_to_sqlite']} |")
    stages = list(dict.fromkeys(k for r in results["scales"].values() for k in r["build"]["ours"].get("stages", {})))
    if stages:
        lines += ["", "Where our build's time goes (seconds per stage, from `scripts.build --timings`):", "",
                  "| appearances | " + " | ".join(stages) + " |", "| ---: |" + " ---: |" * len(stages)]
        for s, r in sorted(results["scales"].items(), key=lambda kv: int(kv[0])):
            got = r["build"]["ours"].get("stages", {})
            lines.append(f"| {int(s):,} | " + " | ".join(f"{got[k]:.1f}" if k in got else "–" for k in stages) + " |")
    lines += ["", "## Serving", ""]
    for s, r in sorted(results["scales"].items(), key=lambda kv: int(kv[0])):
        lines += [f"### {int(s):,} appearances", "",
                  "| page | status | req/s | p50 ms | p99 ms | stock req/s | stock p99 ms | speed-up |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for name, p in r["serving"]["ours"].items():
            st = r["serving"]["stock"].get(name)
            lines.append(f"| {name} | {p['status']} | {p['requests_per_second']:.0f} | {p['p50_ms']:.0f} | {p['p99_ms']:.0f} | "
                         + stock_cells(st, r["serving"]["speedup_vs_stock"].get(name)))
        lines.append("")
    lines += ["## Targets", "", "| scale | target | figure | met |", "| ---: | --- | --- | --- |"]
    lines += [f"| {c['scale']:,} | {c['target']} | {c['figure']} | {'yes' if c['met'] else '**no**'} |" for c in results["targets"]]
    lines += ["", "## Why targets are met or missed", ""] + explanations(results)
    lines += [              "", "## Capacity plan", "",
              "The published database is read-only, so capacity scales with stateless replicas of one immutable file",
              "(`make deploy-files`). Requests/s per replica below is the harmonic mean over the page types a journalist",
              f"opens most (home, table, row page, document page, search, CSV) at {CLIENTS} clients on {results['machine']},",
              f"{results.get('workers', '?')} worker processes; replicas needed = peak requests/s that reach the replicas ÷ that figure,",
              "plus one for failover. A CDN in front (headers below) serves repeat requests without reaching a replica.", "",
              "| appearances | req/s per replica | replicas for 50 req/s | for 200 req/s |", "| ---: | ---: | ---: | ---: |"]
    for s, r in sorted(results["scales"].items(), key=lambda kv: int(kv[0])):
        per = replica_rps(r["serving"]["ours"])
        lines.append(f"| {int(s):,} | {per:.1f} | {replicas(50, per)} | {replicas(200, per)} |")
    lines += cache_headers(results)
    lines += hashed_report(results.get("hashed"))
    return "\n".join(lines) + "\n"


def hashed_report(hashed: dict | None) -> list[str]:
    """Our pages as the deploy images serve them: the hashed route, its figures and the headers a CDN sees."""
    if not hashed:
        return []
    lines = ["", f"## As deployed: hashed database URLs ({hashed['scale']:,} appearances)", ""]
    if "error" in hashed:
        return lines + [f"Not measured: {hashed['error']}"]
    lines += [f"`scripts.serve --hashed-urls`, as the images run it: the database at `{hashed['route']}`; the plain route "
              f"answers {hashed['redirect']['status']} (Cache-Control `{hashed['redirect']['cache_control'] or '(none)'}`).", "",
              "| page | status | req/s | p99 ms | Cache-Control |", "| --- | ---: | ---: | ---: | --- |"]
    lines += [f"| {name} | {p['status']} | {p['requests_per_second']:.0f} | {p['p99_ms']:.0f} | `{p.get('cache_control') or '(none)'}` |"
              for name, p in hashed["pages"].items()]
    return lines


# Why a page type can miss p99 ≤ 300 ms at 8 clients: what is left of its cost once the fixes of issue 12 are in.
PAGE_REASONS = {
    "table_html": "Datasette's table page costs about 25 ms of CPU per 50-row page of appearances at a million rows (measured in one process, down from 50: the schema asked once per worker, the rows rendered by a synchronous Jinja twin); most of what is left is Datasette's own cell loop, a render_cell hook per cell, and the page template; the kernel hashes each connection to one worker (SO_REUSEPORT), so of 8 keep-alive clients one worker may hold 5 or 6 and each of its requests waits for theirs",
    "faceted_table": "as table_html, with the default facets read from the build's counts (an indexed lookup each) and drawn with their labels and links: about 25 ms of CPU a page; the worker holding more of the 8 connections sets the p99",
    "filtered_facets": "as faceted_table, and Datasette counts the filtered rows (an index range) before it renders the page",
    "full_text_search": "the ranked search scores each kind's first 1,000 matches with bm25 (about 3 µs a match), then reads and snippets only the 50 rows shown (one more is fetched to know whether a next page exists)",
    "table_search_json": "Datasette's table search (the JSON API; an HTML table search is sent to the ranked search) reads every FTS5 match's rowid into a temporary index before it walks them in key order (`_sort=rowid`, plugins/nk_search.py) to the page's 50: 55,000 matches for 'troops' at a million rows, about 17 ms of SQLite a request (it was 45 ms sorting them by key); the full count is skipped",
    "row_page": "the row page reads the row, its passage, its claim's status, 20 of its origins and appearances and its release history, and renders them with Datasette's row template",
    "document_page": "the document page marks every cited span of the document, one segment per span edge",
    "home": "the home page is rendered once per worker and then served from memory; what is left is the network and the ASGI stack",
    "query:search": "it ranks each of six FTS5 indexes' first 1,000 matches with bm25 and snippets the 50 rows shown (one more is fetched to know whether a next page exists)",
}
# What our row and document pages show that stock Datasette's do not: why they may be slower than stock's.
STOCK_DIFFERENCE = {
    "row_page": "stock's row page shows the row and counts the rows that point at it; ours also reads the passage around "
                "the excerpt, the claim's evidence status, 20 of its origins and appearances and the row's release history, "
                "which from stock would take several more pages and SQL queries",
    "document_page": "stock's document page is the bare row; ours marks every cited span of the text and links each to its row",
}
QUERY_REASON = ("the HTML page renders 50 rows (plugins/nk_paging.py) of a precomputed table or an indexed query, fetching one "
                "more to know whether a next page exists; what is left is Datasette's query page itself, sharing the cores "
                "with the other clients and, per worker, with the connections the kernel gave it")


def build_explanation(scale: str, b: dict) -> list[str]:
    stages = b["ours"].get("stages", {})
    ratio, same = b.get("ratio_vs_same_output"), b.get("raw_same_output")
    if ratio is None or same is None or ratio <= TARGETS["build_ratio"]:
        return [] if ratio is None else [f"- **Build time is met**: {ratio}× the same output built with raw executemany ({same['seconds']:.1f} s)."]
    checked = sum(stages.get(k, 0) for k in ("read", "seeds", "validate", "locate"))
    output = ", ".join(f"{k} {v:.1f} s" for k, v in stages.items()
                       if k not in ("read", "seeds", "validate", "locate") and not k.startswith("data package"))
    return [f"- **Build time** ({int(scale):,} appearances: {b['ours']['seconds']:.0f} s, {ratio}× the same output built with raw",
            f"  executemany and no checks, {same['seconds']:.1f} s; {b['ratio_vs_raw']}× loading the rows alone). The baseline runs the same",
            "  derived tables, coverage, FTS5 and facet counts (they are the output) but reads each CSV once straight into the",
            "  typed tables. Ours first streams every row into a staging database, checking white space, patterns and",
            "  excerpt offsets as it passes, then runs the schema's constraints and keys as SQL over the staging tables,",
            f"  then copies the rows sorted by key: reading, checking and locating take {checked:.1f} s; the output stages take",
            f"  {output}. The CSV data package is written by a second process meanwhile."]


def run_to_run(results: dict, scale: str) -> list[str]:
    """Pages that meet the p99 target at the largest scale but miss it elsewhere in the same run (a smaller scale,
    or the hashed deployment): a p99 at 8 clients on 2 workers depends on how the kernel splits the connections."""
    met = {name for name, page in results["scales"][scale]["serving"]["ours"].items() if page["p99_ms"] <= TARGETS["p99_ms"]}
    runs = [(f"{int(s):,}", r["serving"]["ours"]) for s, r in results["scales"].items() if s != scale]
    if (results.get("hashed") or {}).get("pages"):
        runs.append((f"{results['hashed']['scale']:,} as deployed", results["hashed"]["pages"]))
    misses = [f"{name} {page['p99_ms']:.0f} ms at {label}" for label, pages in runs for name, page in pages.items()
              if name in met and page["p99_ms"] > TARGETS["p99_ms"]]
    if not misses:
        return []
    return [f"- **Run to run.** Pages that meet the p99 target at {int(scale):,} missed it elsewhere in this same run: "
            f"{'; '.join(misses)}. Each worker serves the connections the kernel hashed to it (4/4 to 6/2 of 8, or "
            "worse), so a page that costs tens of milliseconds of Python (a table page about 25 ms) has a p99 that moves "
            "by hundreds of milliseconds from one measurement to the next: met here, not reliably."]


def explanations(results: dict) -> list[str]:
    """What the largest scale's figures say about each missed target."""
    scale = max(results["scales"], key=int)
    r = results["scales"][scale]
    b = r["build"]
    out = build_explanation(scale, b)
    if b["ours"]["peak_rss_mb"] > TARGETS["build_rss_mb"]:
        out.append(f"- **Build memory**: peak RSS {b['ours']['peak_rss_mb']} MB (target {TARGETS['build_rss_mb']}).")
    else:
        per = b["ours"].get("peak_rss_by_process_mb", {})
        split = f" ({', '.join(f'{k} {v} MB' for k, v in per.items())}, summed)" if per else ""
        out += [f"- **Build memory is met**: peak RSS {b['ours']['peak_rss_mb']} MB at {int(scale):,} appearances{split}. No table is held in memory:",
                "  the largest objects are a cache of 64 seed texts and SQLite's page caches (16 MiB per database while loading, 8 MiB after)."]
    missed = {}  # reason → pages that miss for it
    for name, page in r["serving"]["ours"].items():
        if page["p99_ms"] > TARGETS["p99_ms"] or page["status"] != 200 or page["non_2xx"]:
            reason = PAGE_REASONS.get(name) or (QUERY_REASON if name.startswith("query:") else "not analysed")
            missed.setdefault(reason, []).append(f"**{name}** (p99 {page['p99_ms']:.0f} ms, status {page['status']}, non-2xx {page['non_2xx']})")
    out += [f"- {', '.join(pages)}: {reason}." for reason, pages in missed.items()]
    out += [f"- **{name}** ({s}× stock requests/s) slower than stock Datasette's: {STOCK_DIFFERENCE[name]}."
            for name in AT_LEAST_STOCK_PAGES
            if (s := r["serving"]["speedup_vs_stock"].get(name)) is not None and s < TARGETS["row_document_speedup"]]
    out += run_to_run(results, scale)
    out += ["- **Stock comparison.** Stock Datasette (`datasette serve`: one process, default settings, the same uvicorn with",
            "  httptools and uvloop from the same environment) counts every table and suggests facets",
            "  on each table request; at 1e5 and above it answers few or none of them in the run, which is where the",
            "  speed-ups come from.",
            f"- **Workers.** Our site ran as {results.get('workers', '?')} worker processes (scripts/serve.py, one per core; uvicorn with httptools and uvloop), each listening on",
            "  its own socket of the port (SO_REUSEPORT): the kernel hashes each new connection to one of them, so 8 keep-alive",
            "  clients split between 2 workers 4/4 to 6/2. On one shared socket the first worker to wake took all 8 and the other",
            "  core stayed idle (measured on the table page at a million rows: about 20 req/s before the change, 35 to 50 after, run to run)."]
    return out


def cache_headers(results: dict) -> list[str]:
    scale = max(results["scales"], key=int)
    pages = results["scales"][scale]["serving"]["ours"]
    lines = ["", "## Cache headers for a CDN", "",
             "As `make serve` sends them (measured in this run). The deploy images add datasette-hashed-urls: every",
             "database page moves to `/nk_russia-<hash>/…` and a successful response there is marked",
             "`Cache-Control: max-age=31536000, public` (new data, new hash, new URLs; `/nk_russia/…` redirects there).",
             "Errors are always `no-store` and a redirect is cached a day at most (plugins/nk_hardening.py), so a CDN",
             "never keeps a failure.", "",
             "| page | status | Cache-Control (make serve) |", "| --- | ---: | --- |"]
    lines += [f"| {name} | {p['status']} | `{p.get('cache_control') or '(none)'}` |" for name, p in pages.items()]
    return lines


CAPACITY_PAGES = ["home", "table_html", "row_page", "document_page", "full_text_search", "csv_export"]


def replica_rps(pages: dict) -> float:
    rates = [pages[p]["requests_per_second"] for p in CAPACITY_PAGES]
    return 0.0 if min(rates) <= 0 else len(rates) / sum(1 / r for r in rates)


def replicas(load: float, per_replica: float) -> str:
    return "–" if per_replica <= 0 else str(int(-(-load // per_replica)) + 1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smallest scale, short runs (CI)")
    parser.add_argument("--scales", type=int, nargs="*")
    parser.add_argument("--seconds", type=int)
    parser.add_argument("--results", type=Path, default=BENCH / "results.json")
    parser.add_argument("--report", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report and plot from --results, measuring nothing")
    args = parser.parse_args(argv)
    if args.report_only:
        results = json.loads(args.results.read_text(encoding="utf-8"))
        plot(results, args.results.with_name("cost.png"))
        args.report.write_text(report(results), encoding="utf-8")
        return 0
    scales = args.scales or ([10_000] if args.quick else [10_000, 100_000, 1_000_000])
    seconds = args.seconds or (1 if args.quick else 5)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    results = {"mode": "quick" if args.quick else "full", "seconds_per_page": seconds, "commit": commit or "?",
               "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}", "workers": default_workers(),
               "scales": {}}
    for n in scales:
        print(f"== {n:,} appearances", file=sys.stderr)
        folder = generate(n)
        build = build_all(folder)
        print(f"   build: {build}", file=sys.stderr)
        results["scales"][str(n)] = {"build": build, "serving": serving(folder, seconds)}
    largest = generate(max(scales))
    try:  # the deploy images' hashed database URLs, at the largest scale (its pages, its CDN headers)
        results["hashed"] = {"scale": max(scales), **hashed_serving(largest / "out" / "nk_russia.db", largest / "out" / "build",
                                                                    seconds, largest / "out" / "server-hashed.log")}
    except RuntimeError as e:  # scripts.serve refuses --hashed-urls without the plugin (make install fetches it)
        results["hashed"] = {"scale": max(scales), "error": str(e)[:300]}
    results["targets"] = check_targets(results)
    args.results.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    plot(results, args.results.with_name("cost.png"))  # beside results.json: a test run never overwrites the published plot
    args.report.write_text(report(results), encoding="utf-8")
    missed = [c for c in results["targets"] if not c["met"]]
    print(f"wrote {args.results}, {args.report}; {len(missed)} target(s) missed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
