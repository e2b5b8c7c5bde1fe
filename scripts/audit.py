"""Lighthouse (npm, pinned in tools/lighthouse) against a real server: performance, accessibility, best
practices and SEO of the home page, a table page and a row page, in Debian's Chromium. Prints one line a page.

    python -m scripts.audit            (make audit installs Lighthouse first)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .serve import ROOT, start_site, stop

LIGHTHOUSE = ROOT / "tools" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
PAGES = {"home": "/", "table": "/nk_russia/appearances", "row": "/nk_russia/troop_estimates/003-te-01"}
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")


def scores(report: dict) -> dict:
    return {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}


def audit(url: str, chrome: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        subprocess.run([str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={out}",
                        f"--only-categories={','.join(CATEGORIES)}", "--chrome-flags=--headless=new --no-sandbox"],
                       check=True, env={**os.environ, "CHROME_PATH": chrome})
        return scores(json.loads(out.read_text(encoding="utf-8")))


def main() -> int:
    chrome = os.environ.get("CHROME_PATH") or shutil.which("chromium")
    if not LIGHTHOUSE.exists() or not chrome:
        print("needs tools/lighthouse (make audit installs it) and Debian's chromium", file=sys.stderr)
        return 2
    with open(ROOT / "build" / "audit.log", "wb") as log:
        proc, base = start_site(ROOT / "nk_russia.db", ROOT / "build", log)
    try:
        print(f"{'page':8} " + " ".join(f"{c:>15}" for c in CATEGORIES))
        for name, path in PAGES.items():
            s = audit(base + path, chrome)
            print(f"{name:8} " + " ".join(f"{s[c]:>15}" for c in CATEGORIES), flush=True)
    finally:
        stop(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
