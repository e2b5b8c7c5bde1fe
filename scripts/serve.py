"""Serve the built database with Datasette, configured from the repository's files.

The one place that turns settings.json, metadata, plugins/, templates/ and static/ into Datasette's
command line; `make serve` and the tests that start a real server both use it.

    python -m scripts.serve [--port 8001]
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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


def datasette_command() -> str:
    return str(Path(sys.executable).parent / "datasette")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: list[str], log=subprocess.DEVNULL, wait_seconds: float = 60) -> tuple[subprocess.Popen, str]:
    """Start `datasette` with args on a free loopback port; return the process and its base URL once it answers.

    log is where the server's output goes: a file or DEVNULL, never an unread pipe (a full pipe blocks the server).
    """
    port = free_port()
    proc = subprocess.Popen([datasette_command(), *args, "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            urllib.request.urlopen(base + "/-/versions.json", timeout=2)
            return proc, base
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"datasette did not start: {args[:3]}") from None
            time.sleep(0.2)


def start_site(db: Path, build_dir: Path, log=subprocess.DEVNULL) -> tuple[subprocess.Popen, str]:
    """Our site, exactly as `make serve` runs it, on a free port."""
    return start(serve_args(db, build_dir, None), log)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=20)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8001)))
    parser.add_argument("--db", type=Path, default=ROOT / "nk_russia.db")
    parser.add_argument("--build-dir", type=Path, default=ROOT / "build")
    args = parser.parse_args(argv)
    command = datasette_command()
    os.execv(command, [command, *serve_args(args.db, args.build_dir, args.port)])


if __name__ == "__main__":
    sys.exit(main())
