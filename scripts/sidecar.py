"""A build stage in a process of its own: it reads the database being built (in WAL mode, its tables committed)
and writes its tables into a temporary database beside it, which the build copies in when it needs them. The
stage runs on the second core while the build goes on (facet counts, search aliases)."""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def peak_rss_mb() -> float:
    # VmHWM, not getrusage: Linux carries the forking parent's high-water mark across exec into ru_maxrss.
    hwm = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM:"))
    return round(int(hwm.split()[1]) / 1024, 1)


def report_peak() -> None:
    """The last thing a sidecar process prints: the build records it as that process's peak memory."""
    print(json.dumps({"peak_rss_mb": peak_rss_mb()}))


def open_output(source: Path, out: Path) -> sqlite3.Connection:
    """The sidecar's connection: `out` (written), with `source` attached read-only, so that unqualified names
    find the built tables and new tables go to `out`."""
    conn = sqlite3.connect(f"file:{out}", uri=True)  # so that ATTACH takes the read-only URI below
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("ATTACH DATABASE ? AS source", (f"file:{source}?mode=ro",))
    return conn


class Sidecar:
    """`python -m <module> DB OUT *args` started now; merge() copies its tables into the build's connection,
    discard() throws them away."""

    def __init__(self, db: Path, module: str, *args: str):
        fd, name = tempfile.mkstemp(dir=Path(db).parent, prefix=f".{Path(db).name}.", suffix=f".{module.rsplit('.', 1)[-1]}")
        os.close(fd)
        self.out, self.module = Path(name), module
        self.process = subprocess.Popen([sys.executable, "-m", module, str(Path(db).resolve()), str(self.out), *args],
                                        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.peak_rss_mb = None

    def merge(self, conn, tables) -> None:
        out, err = self.process.communicate()
        if self.process.returncode != 0:
            raise RuntimeError(f"{self.module} failed ({self.process.returncode}): {err.decode()[-2000:]}")
        self.peak_rss_mb = json.loads(out)["peak_rss_mb"]
        conn.execute("ATTACH DATABASE ? AS sidecar", (str(self.out),))
        try:
            with conn:
                for table in tables:
                    (sql,) = conn.execute("SELECT sql FROM sidecar.sqlite_master WHERE name = ?", (table,)).fetchone()
                    conn.execute(sql)
                    conn.execute(f"INSERT INTO main.{table} SELECT * FROM sidecar.{table}")
        finally:
            conn.execute("DETACH DATABASE sidecar")
            self.out.unlink(missing_ok=True)

    def discard(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.communicate()
        self.out.unlink(missing_ok=True)
