"""scripts/serve.py: the site as several worker processes, configured from one place."""
import concurrent.futures
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from scripts import serve


@pytest.mark.parametrize("line, cpus", [("max 100000", None), ("200000 100000", 2), ("150000 100000", 1),
                                        ("50000 100000", 1), ("400000", 4)])
def test_cpu_quota_reads_cgroup_cpu_max(line, cpus):
    assert serve.cpu_quota(line) == cpus


def test_workers_default_to_the_usable_cores_and_workers_overrides():
    assert serve.default_workers({}) == serve.usable_cores() >= 1
    assert serve.default_workers({"WORKERS": "3"}) == 3
    for bad in ("0", "two", "-1"):
        with pytest.raises(ValueError, match="WORKERS"):
            serve.default_workers({"WORKERS": bad})


def test_command_line_gives_datasettes_arguments_and_workers(built):
    args, workers, hashed = serve.parse(["--db", str(built["db"]), "--build-dir", str(built["dir"] / "build"),
                                         "--port", "9999", "--workers", "2"])
    assert workers == 2 and hashed is False
    assert serve.parse(["--hashed-urls"])[2] is True
    assert args == serve.serve_args(built["db"], built["dir"] / "build", "9999")
    rest, host, port = serve.split_host_port(args)
    assert (host, port) == ("127.0.0.1", 9999) and "--port" not in rest and "--host" not in rest


def test_workers_build_the_same_datasette_as_the_command_line(built):
    ds = serve.datasette_from_args(serve.serve_args(built["db"], built["dir"] / "build", None))
    assert ds.setting("sql_time_limit_ms") == serve.settings()["sql_time_limit_ms"]
    assert ds.setting("suggest_facets") is False
    assert "nk_russia" in ds.databases
    assert ds.databases["nk_russia"].is_mutable is False


def test_a_worker_compiles_every_template_before_it_serves(built):
    ds = serve.datasette_from_args(serve.serve_args(built["db"], built["dir"] / "build", None))
    assert serve.compile_templates(ds) >= 10
    cached = {name for (_, name) in ds.jinja_env.cache.keys()} if ds.jinja_env.cache is not None else set()
    assert {"index.html", "table.html", "row.html", "query-nk_russia.html"} <= cached


def test_a_workers_startup_objects_are_left_out_of_garbage_collection(built):
    args = json.dumps(serve.serve_args(built["db"], built["dir"] / "build", None))
    code = "import gc; from scripts import serve; serve.create_app(); print(gc.get_freeze_count())"
    frozen = subprocess.run([sys.executable, "-c", code], cwd=serve.ROOT, env={**os.environ, serve.ARGS_ENV: args},
                            capture_output=True, text=True, timeout=120, check=True)
    assert int(frozen.stdout.split()[-1]) > 20_000  # Datasette, its plugins and the compiled templates (69,000 here)


def test_site_runs_as_several_workers_that_all_answer(built):
    proc, base = serve.start_site(built["db"], built["dir"] / "build", workers=2)
    try:
        workers = [pid for pid in serve.process_tree(proc.pid)[1:]
                   if "spawn_main" in open(f"/proc/{pid}/cmdline").read()]  # not multiprocessing's resource tracker
        assert len(workers) == 2

        def status(_):
            with urllib.request.urlopen(base + "/nk_russia/claims", timeout=30) as r:
                return r.status
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            assert set(pool.map(status, range(16))) == {200}
        for pid in workers:  # uvicorn's compiled HTTP parser and event loop, not h11 and asyncio's pure Python
            mapped = Path(f"/proc/{pid}/maps").read_text()
            assert "/httptools/" in mapped and "/uvloop/" in mapped, pid
    finally:
        serve.stop(proc)
    assert proc.returncode is not None
    for pid in workers:  # no worker outlives the server
        with pytest.raises(OSError):
            open(f"/proc/{pid}/status").read()


def established_sockets_by_process(pids: list[int], port: int) -> dict[int, int]:
    """How many of the TCP connections accepted on port each process holds (from /proc/net/tcp and its fds)."""
    inodes = set()
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":  # local port; ESTABLISHED
            inodes.add(f"socket:[{fields[9]}]")
    counts = {}
    for pid in pids:
        fds = Path(f"/proc/{pid}/fd")
        counts[pid] = sum(1 for fd in fds.iterdir() if os.readlink(fd) in inodes)
    return counts


def test_connections_opened_together_are_spread_over_the_workers(built):
    # A burst of keep-alive connections, as the load test's and a CDN's: on one shared socket the first worker
    # to wake accepted them all and kept them, leaving the other core idle.
    proc, base = serve.start_site(built["db"], built["dir"] / "build", workers=2)
    port = int(base.rsplit(":", 1)[1])
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(16)]
    workers = [pid for pid in serve.process_tree(proc.pid)[1:] if "spawn_main" in open(f"/proc/{pid}/cmdline").read()]
    try:
        for pid in workers:  # the connections wait in the kernel until a worker wakes: the first one alone, here
            os.kill(pid, signal.SIGSTOP)
        for c in connections:
            c.connect()
        for pid in workers:
            os.kill(pid, signal.SIGCONT)
            time.sleep(0.5)
        for c in connections:
            c.request("GET", "/nk_russia/claims.json?_size=1")
        assert {c.getresponse().status for c in connections} == {200}
        held = established_sockets_by_process(workers, port)
        assert sum(held.values()) == 16 and min(held.values()) >= 1, held
    finally:
        for pid in workers:
            os.kill(pid, signal.SIGCONT)
        for c in connections:
            c.close()
        serve.stop(proc)


def test_a_port_already_served_is_refused_with_a_clear_message(built):
    proc, base = serve.start_site(built["db"], built["dir"] / "build", workers=1)
    port = base.rsplit(":", 1)[1]
    try:
        second = subprocess.run([sys.executable, "-m", "scripts.serve", "--db", str(built["db"]), "--build-dir",
                                 str(built["dir"] / "build"), "--port", port], cwd=serve.ROOT, capture_output=True,
                                text=True, timeout=120)
        assert second.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in second.stderr, second.stderr
        assert urllib.request.urlopen(base + "/nk_russia/claims.json?_size=1", timeout=30).status == 200
    finally:
        serve.stop(proc)
