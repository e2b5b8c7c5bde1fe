"""Serve the built database with Datasette, configured from the repository's files, on every core.

The one place that turns settings.json, metadata, plugins/, templates/ and static/ into Datasette's
command line, and runs the site as several worker processes (uvicorn's supervisor, one Datasette per
worker, each with its own socket on the one port, so that the kernel spreads connections over them): one
Python process renders pages on one core only, and while it renders, queries waiting for the GIL count
against the SQL time limit. Each worker serves with uvicorn's compiled HTTP parser and event loop
(httptools, uvloop) when installed. `make serve`, the deploy images, the load test, the benchmarks and the
tests that start a real server all use it.

    python -m scripts.serve [--port 8001] [--workers N] [--hashed-urls]   (WORKERS=N; default: the usable cores)

--hashed-urls serves the site as the deploy images do, with datasette-hashed-urls: the immutable database
at /nk_russia-<first 7 hex digits of its hash>/..., year-long cache headers there, /nk_russia/... redirected.
The images pip-install it (scripts/deploy.py); here `make install` puts it apart, in .venv/hashed-urls,
because an installed Datasette plugin loads itself into every Datasette of that environment: `make serve`
and the tests would all move to hashed URLs.
"""
import argparse
import gc
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import uvicorn
import uvicorn.supervisors.multiprocess

ROOT = Path(__file__).resolve().parent.parent
# The worker processes build their Datasette from these arguments (JSON), set by run() before they start.
ARGS_ENV = "NK_DATASETTE_ARGS"
# Set (to "1") by run() when the workers must load datasette-hashed-urls.
HASHED_URLS_ENV = "NK_HASHED_URLS"
# The deploy images' CDN plugin, at the version scripts/deploy.py pins in them and `make install` fetches.
HASHED_URLS = ("datasette-hashed-urls", "0.4")
HASHED_URLS_MODULE = "datasette_hashed_urls"
# Where `make install` puts it when it is not installed in the environment (see the docstring).
HASHED_URLS_DIR = ROOT / ".venv" / "hashed-urls"


def settings(root: Path = ROOT) -> dict:
    return json.loads((root / "settings.json").read_text(encoding="utf-8"))


def serve_args(db: Path, build_dir: Path, port: int | str | None, root: Path = ROOT, host: str = "127.0.0.1",
               site_settings: dict | None = None) -> list[str]:
    """Datasette's `serve` arguments: templates/, plugins/ and static/ are under root, and so is
    settings.json unless site_settings is given (scripts/deploy.py passes the repository's settings
    with a container's relative paths, host 0.0.0.0 and its port). port None leaves host and port out."""
    args = ["serve", "--immutable", str(db), "--inspect-file", str(build_dir / "inspect.json"),
            "--metadata", str(build_dir / "metadata.json"), "--template-dir", str(root / "templates"),
            "--plugins-dir", str(root / "plugins"), "--static", f"static:{root / 'static'}"]
    if port is not None:
        args += ["--host", host, "--port", str(port)]
    for key, value in (settings(root) if site_settings is None else site_settings).items():
        args += ["--setting", key, str(value).lower() if isinstance(value, bool) else str(value)]
    return args


def cpu_quota(cpu_max: str) -> int | None:
    """Whole CPUs allowed by a cgroup v2 cpu.max line ("max 100000" or "200000 100000"), None if unlimited."""
    fields = cpu_max.split()
    if not fields or fields[0] == "max":
        return None
    period = int(fields[1]) if len(fields) > 1 else 100_000
    return max(1, int(fields[0]) // period)


def usable_cores() -> int:
    """Cores this process may run on, capped by a container's CPU quota (a Cloud Run or Fly machine
    reports the host's cores but is allowed fewer)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota = cpu_quota(Path("/sys/fs/cgroup/cpu.max").read_text())
    except (OSError, ValueError):
        quota = None
    return max(1, min(cores, quota or cores))


def default_workers(environ=os.environ) -> int:
    """WORKERS from the environment if set, else one worker per usable core."""
    value = environ.get("WORKERS", "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"WORKERS must be a whole number of processes, 1 or more, not {value!r}")
        return int(value)
    return usable_cores()


def datasette_from_args(args: list[str]):
    """The Datasette instance `datasette <args>` would serve, built by Datasette's own command-line code."""
    from datasette.cli import serve
    context = serve.make_context("datasette", list(args[1:] if args[:1] == ["serve"] else args))
    context.params["return_instance"] = True
    with context:
        return serve.invoke(context)


def compile_templates(ds) -> int:
    """Compile every template before the worker takes requests. Each worker compiles its own on first use
    otherwise, and a load balanced over several workers meets that cost once per worker, mid-traffic."""
    names = [n for n in ds.jinja_env.list_templates() if n.endswith(".html")]
    for name in names:
        ds.jinja_env.get_template(name)
    return len(names)


def load_hashed_urls(folder: Path = HASHED_URLS_DIR) -> str:
    """Register datasette-hashed-urls with Datasette's plugins unless it is registered already (installed in the
    environment, as in the images, whose Datasette loads it from its entry point); returns its version.

    Before any Datasette is made: plugins/ are registered when a Datasette is constructed, and a plugin
    registered earlier wraps the site outside theirs (Datasette applies asgi_wrapper hooks in pluggy's
    last-registered-first order), which is where the images' entry-point loading puts it too."""
    import importlib
    import importlib.metadata
    from datasette.plugins import pm
    if folder.is_dir() and str(folder) not in sys.path:
        sys.path.append(str(folder))
    try:
        module = importlib.import_module(HASHED_URLS_MODULE)
    except ImportError:
        raise RuntimeError(f"{HASHED_URLS[0]} is not installed: run `make install` (it goes to {folder})") from None
    version = importlib.metadata.version(HASHED_URLS[0])
    if version != HASHED_URLS[1]:
        raise RuntimeError(f"{HASHED_URLS[0]} {version} is installed, {HASHED_URLS[1]} is pinned: run `make install`")
    if not pm.is_registered(module):
        pm.register(module, name="hashed_urls")  # the name its entry point registers it under
    return version


def create_app():
    """uvicorn's application factory, called once in each worker process."""
    if os.environ.get(HASHED_URLS_ENV):
        load_hashed_urls()
    ds = datasette_from_args(json.loads(os.environ[ARGS_ENV]))
    compile_templates(ds)
    # What the worker holds from now on (Datasette, plugins, templates) is never collected: the collector's full
    # passes skip it (measured at a million rows: 44 ms → 6 ms each, one every ~20 table pages).
    gc.collect()
    gc.freeze()
    return ds.app()


def split_host_port(args: list[str]) -> tuple[list[str], str, int]:
    """serve_args without --host/--port, and those two (uvicorn binds the socket, not Datasette)."""
    rest, found, i = [], {"--host": "127.0.0.1", "--port": "8001"}, 0
    while i < len(args):
        if args[i] in found:
            found[args[i]] = args[i + 1]
            i += 2
        else:
            rest.append(args[i])
            i += 1
    return rest, found["--host"], int(found["--port"])


def run(args: list[str], workers: int, hashed_urls: bool = False) -> None:
    """Serve serve_args' site with `workers` processes, in the foreground (with datasette-hashed-urls, as the
    deploy images serve it, if hashed_urls)."""
    datasette_args, host, port = split_host_port(args)
    if hashed_urls:
        load_hashed_urls()  # missing or at another version: fails here, once
        os.environ[HASHED_URLS_ENV] = "1"
    datasette_from_args(datasette_args)  # a wrong flag or a missing file fails here, once, not in every worker
    os.environ[ARGS_ENV] = json.dumps(datasette_args)
    # lifespan "on" and no reload, as `datasette serve` runs uvicorn.
    config = uvicorn.Config("scripts.serve:create_app", factory=True, host=host, port=port, workers=workers,
                            lifespan="on", log_level="info")
    refuse_taken_port(host, port)  # a port already served: fail here, once, not in a worker restarted forever
    supervisor = uvicorn.supervisors.multiprocess
    supervisor.Process = OwnSocketWorker  # uvicorn's supervisor (signals, restarts) makes its workers from this name
    try:
        supervisor.Multiprocess(config, sockets=[]).run()
    except KeyboardInterrupt:
        pass


def address_family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def listening_socket(host: str, port: int, backlog: int) -> socket.socket:
    """A TCP socket listening on host:port beside the other workers' (SO_REUSEPORT)."""
    sock = socket.socket(address_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def refuse_taken_port(host: str, port: int) -> None:
    """RuntimeError if anything already listens on host:port. A plain bind is refused there even by a listener
    that set SO_REUSEPORT, such as another of our servers, whose port the workers' own sockets would share."""
    with socket.socket(address_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            raise RuntimeError(f"cannot listen on {host}:{port} ({e.strerror}): another server (an earlier "
                               f"`make serve`?) has it; stop that one or choose another port (PORT=8002 make serve)") from None


class OwnSocketWorker(uvicorn.supervisors.multiprocess.Process):
    """A worker with its own listening socket on the site's port: the kernel spreads new connections over the
    workers (SO_REUSEPORT). On one socket shared by all, asyncio's accept loop lets the worker that wakes first
    take every waiting connection, and a client's keep-alive connections then stay on that one worker: measured,
    all 8 of the benchmark's connections on one of 2 workers, the other core idle."""

    def target(self, sockets=None) -> None:
        super().target([listening_socket(self.config.host, self.config.port, self.config.backlog)])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def datasette_command() -> str:
    return str(Path(sys.executable).parent / "datasette")


def wait_until_up(proc: subprocess.Popen, base: str, wait_seconds: float, what: str) -> None:
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            urllib.request.urlopen(base + "/-/versions.json", timeout=2)
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.2)


def start(args: list[str], log=subprocess.DEVNULL, wait_seconds: float = 60) -> tuple[subprocess.Popen, str]:
    """Start plain `datasette <args>` (one process, as a stock user runs it) on a free loopback port;
    return the process and its base URL once it answers.

    log is where the server's output goes: a file or DEVNULL, never an unread pipe (a full pipe blocks the server).
    """
    port = free_port()
    proc = subprocess.Popen([datasette_command(), *args, "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(proc, base, wait_seconds, f"datasette {' '.join(args[:2])}")
    return proc, base


def start_site(db: Path, build_dir: Path, log=subprocess.DEVNULL, workers: int | None = None,
               wait_seconds: float = 120, hashed_urls: bool = False) -> tuple[subprocess.Popen, str]:
    """Our site, exactly as `make serve` runs it (workers from WORKERS or the cores), on a free port; with
    hashed_urls, as the deploy images run it."""
    port = free_port()
    command = [sys.executable, "-m", "scripts.serve", "--db", str(db), "--build-dir", str(build_dir), "--port", str(port)]
    if workers:
        command += ["--workers", str(workers)]
    if hashed_urls:
        command.append("--hashed-urls")
    proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(proc, base, wait_seconds, "scripts.serve")
    return proc, base


def process_tree(pid: int) -> list[int]:
    """pid and its descendants (the supervisor and its workers), from /proc."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                queue += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()  # uvicorn's supervisor stops its workers before it exits
    proc.wait(timeout=30)


def parse(argv=None) -> tuple[list[str], int, bool]:
    """Datasette's arguments, the number of workers and whether to use hashed URLs, from scripts.serve's command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", default=os.environ.get("PORT", "8001"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--db", type=Path, default=ROOT / "nk_russia.db")
    parser.add_argument("--build-dir", type=Path, default=ROOT / "build")
    parser.add_argument("--root", type=Path, default=ROOT, help="where settings.json, plugins/, templates/ and static/ are")
    parser.add_argument("--workers", type=int, help="worker processes (default: WORKERS, else one per usable core)")
    parser.add_argument("--hashed-urls", action="store_true",
                        help="as the deploy images: the database at /nk_russia-<hash>/, cached for a year (datasette-hashed-urls)")
    args = parser.parse_args(argv)
    try:
        workers = args.workers or default_workers()
    except ValueError as e:
        parser.error(str(e))
    return serve_args(args.db, args.build_dir, args.port, root=args.root, host=args.host), workers, args.hashed_urls


def main(argv=None) -> int:
    try:
        run(*parse(argv))
    except RuntimeError as e:
        print(f"serve: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
