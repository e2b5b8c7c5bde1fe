"""Load test: a mix of journalist URLs against a real server on 127.0.0.1, with wrk.

    python -m scripts.loadtest [--duration 60] [--clients 16]      (make loadtest)

Starts Datasette as `make serve` does on a free port, drives it with wrk for the given time and
prints requests/s, p50/p99 latency, non-2xx responses and socket errors; exits 1 on any error.
"""
import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from .serve import ROOT, start_site, stop

# What journalists open: home, tables, facets, searches, canned queries, row pages, a document, CSV.
JOURNALIST_PATHS = [
    "/",
    "/about",
    "/nk_russia",
    "/nk_russia/appearances",
    "/nk_russia/troop_estimates",
    "/nk_russia/claims?_facet=topic",
    "/nk_russia/appearances?_facet=stance&_facet=speaker_id",
    "/nk_russia/appearances?stance=denies",
    "/nk_russia/weapon_mentions?_facet=status&direction=ru_to_kp",
    "/nk_russia/appearances?_search=troops",  # a redirect to the ranked search below
    "/nk_russia/search?q=troops&in=appearances",
    "/nk_russia/search?q=S-400",
    "/nk_russia/troop_estimates_by_source",
    "/nk_russia/contested_claims",
    "/nk_russia/russia_to_north_korea",
    "/nk_russia/actor_statements?actor=kr-nis",
    "/nk_russia/appearances/003-ap-01",
    "/nk_russia/troop_estimates/003-te-01",
    "/nk_russia/claims/kp-troops-in-russia",
    "/nk_russia/documents/003_a098e6d6fb83daf6",
    "/nk_russia/claims.csv",
    "/nk_russia/troop_estimates.json?_shape=array",
]

LUA = """paths = {%s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""


def wrk_script(paths: list[str]) -> str:
    return LUA % ", ".join(json.dumps(p) for p in paths)


def to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def parse_wrk(output: str) -> dict:
    """Figures from wrk --latency output."""
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+(?:us|ms|s))\s*$", output, flags=re.M))
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": to_ms(latency["50"]),
        "p99_ms": to_ms(latency["99"]),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(int(x) for x in sockets.groups()[:3]) if sockets else 0,
        "timeouts": int(sockets.group(4)) if sockets else 0,
    }


def run_wrk(base_url: str, duration: int, clients: int, paths=JOURNALIST_PATHS) -> dict:
    wrk = shutil.which("wrk")
    if not wrk:
        raise RuntimeError("wrk is not installed: apt-get install wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(wrk_script(paths))
    try:
        out = subprocess.run([wrk, "--latency", "-t", "2", "-c", str(clients), "-d", f"{duration}s",
                              "--timeout", "5s", "-s", f.name, base_url], capture_output=True, text=True, check=True)
    finally:
        Path(f.name).unlink()
    return parse_wrk(out.stdout)


def check_paths(base_url: str, paths=JOURNALIST_PATHS) -> None:
    """Every path answers 200 before load is applied, so an error is never a broken link."""
    for path in paths:
        with urllib.request.urlopen(base_url + path, timeout=10) as r:
            assert r.status == 200, path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args(argv)
    proc, base = start_site(ROOT / "nk_russia.db", ROOT / "build")
    try:
        check_paths(base)
        result = run_wrk(base, args.duration, args.clients)
    finally:
        stop(proc)
    print(f"{args.clients} clients, {args.duration} s, {len(JOURNALIST_PATHS)} journalist URLs in rotation")
    print(f"requests: {result['requests']}  requests/s: {result['requests_per_second']:.1f}  "
          f"p50: {result['p50_ms']:.1f} ms  p99: {result['p99_ms']:.1f} ms  "
          f"non-2xx: {result['non_2xx']}  socket errors: {result['socket_errors']}  timeouts: {result['timeouts']}")
    return 1 if result["non_2xx"] or result["socket_errors"] or result["timeouts"] else 0


if __name__ == "__main__":
    sys.exit(main())
