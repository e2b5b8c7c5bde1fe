"""Load: the 10-second version of `make loadtest`, against a real server; 0 errors, 0 timeouts."""
import os
import shutil
import urllib.request

import pytest

from scripts.loadtest import JOURNALIST_PATHS, check_paths, parse_wrk, run_wrk, wrk_script

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8001
  2 threads and 16 connections
  Latency Distribution
     50%  352.10ms
     75%  500.00ms
     90%    1.20s
     99%    2.50s
  376 requests in 10.03s, 4.10MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 3
Requests/sec:     37.49
Transfer/sec:    418.88KB
"""


def test_parse_wrk_reads_every_figure():
    assert parse_wrk(WRK_OUTPUT) == {"requests": 376, "requests_per_second": 37.49, "p50_ms": 352.1, "p99_ms": 2500.0,
                                     "non_2xx": 3, "socket_errors": 1, "timeouts": 2}


def test_wrk_script_rotates_through_every_path():
    script = wrk_script(["/a", "/b?x=1"])
    assert 'paths = {"/a", "/b?x=1"}' in script and "wrk.format" in script


def test_ten_seconds_of_sixteen_clients_without_an_error(live_server):
    if not shutil.which("wrk"):
        if os.environ.get("CI"):
            pytest.fail("wrk is not installed (.ci/run installs it)")
        pytest.skip("wrk is not installed")
    check_paths(live_server["url"], JOURNALIST_PATHS)
    result = run_wrk(live_server["url"], duration=10, clients=16)
    print(result)
    assert result["requests"] > 0
    assert (result["non_2xx"], result["socket_errors"], result["timeouts"]) == (0, 0, 0)
