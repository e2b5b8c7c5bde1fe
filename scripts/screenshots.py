"""Screenshots of the site for the README: home, a row page, a query page and a document page at desktop
(1366 px) and phone (390 px) width, in Debian's Chromium against a real server, written to docs/.

    python -m scripts.screenshots
"""
import shutil
import sys
from pathlib import Path

from .serve import ROOT, start_site, stop

PAGES = {
    "home": "/",
    "row": "/nk_russia/troop_estimates/003-te-01",
    "query": "/nk_russia/troop_estimates_by_source",
    "document": "/nk_russia/documents/003_a098e6d6fb83daf6",
}
WIDTHS = (1366, 390)
# A screenshot shows the top of the page (what a reader sees first), not a 12,000 px strip.
HEIGHT = {1366: 1100, 390: 1500}


def shrink(png: Path) -> None:
    """256 colours are plenty for a page of text: a third of the bytes in the repository."""
    from PIL import Image
    with Image.open(png) as im:
        small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(png, optimize=True)


def main(out: Path = ROOT / "docs") -> int:
    from playwright.sync_api import sync_playwright
    out.mkdir(exist_ok=True)
    with open(ROOT / "build" / "screenshots.log", "wb") as log:
        proc, base = start_site(ROOT / "nk_russia.db", ROOT / "build", log)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--headless", "--no-sandbox"])
            for width in WIDTHS:
                page = browser.new_page(viewport={"width": width, "height": HEIGHT[width]})
                for name, path in PAGES.items():
                    page.goto(base + path)
                    page.wait_for_load_state("networkidle")
                    target = out / f"{name}-{width}.png"
                    page.screenshot(path=str(target))
                    shrink(target)
                    print(target)
            browser.close()
    finally:
        stop(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
