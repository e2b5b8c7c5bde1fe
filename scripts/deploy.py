"""Ready-to-deploy directories for Google Cloud Run and Fly.io, generated without network.

    python -m scripts.deploy [--out deploy] [--fly-app nk-russia]

deploy/cloudrun/ and deploy/fly/ are each one Docker build context: nk_russia.db byte for byte,
metadata.json and inspect.json from build/, settings.json, plugins/, templates/, static/, a
requirements.txt of exact pins, scripts/serve.py itself, and a Dockerfile whose CMD is `python -m scripts.serve`
on 0.0.0.0 and the platform's port: the same worker processes (one per core the container may use, WORKERS
to override), flags and settings as `make serve`. Nothing here deploys: see README.md, "Deploying".

Datasette's own packaging code lays the directories out: datasette.utils.temporary_docker_directory
(the code behind `datasette package` and `datasette publish cloudrun`) for Cloud Run, and
datasette-publish-fly's `datasette publish fly --generate-dir`, which also writes fly.toml, for Fly.
The Dockerfile they write is replaced by dockerfile() below: it installs an unpinned `datasette`,
re-runs `datasette inspect`, adds --cors, flags that differ from `make serve`, and bakes a signing
secret into the image. Their re-serialised metadata.json is replaced by build/metadata.json as built.
"""
import argparse
import importlib.metadata
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .serve import HASHED_URLS, ROOT, datasette_command

DB_NAME = "nk_russia.db"  # plugins/nk_site.py addresses the database by this name
TARGETS = {"cloudrun": "$PORT", "fly": 8080}  # directory → the port Datasette listens on in it
FLY_APP = "nk-russia"
# The 3.11 line of the repository's Python, latest patch release. (Datasette's publish code uses
# python:3.11.0-slim-bullseye: a 2022 patch release on a Debian release past its support.)
BASE_IMAGE = "python:3.11-slim"
# Cache headers for a CDN: datasette-hashed-urls, in the images only. It serves the immutable database
# at /nk_russia-<first 7 hex digits of its hash>/..., redirects /nk_russia/... there, and marks those
# responses `Cache-Control: max-age=31536000, public`: a CDN keeps them until a deploy with other data
# changes the hash, hence the URLs. Not in requirements.txt: locally it would redirect every database
# URL of `make serve` and of the tests (`make install` puts it apart for `scripts.serve --hashed-urls`, which
# the images run too). Its one dependency is datasette (from its wheel's metadata).
IMAGE_ONLY = {HASHED_URLS[0]: (HASHED_URLS[1], ["datasette>=0.61.1"])}
# uvicorn's compiled HTTP parser and event loop (its [standard] extra, pinned in requirements.txt): the
# workers of scripts/serve.py use them when installed, so the images install them.
SERVER_SPEEDUPS = ("httptools", "uvloop")
# Datasette plugins in requirements.txt that only publish: not needed by the running site.
PUBLISH_TOOLS = {"datasette-publish-fly"}
# Required by datasette but part of the base image (pip freeze, hence requirements.txt, leaves them out).
BASE_IMAGE_PROVIDES = {"pip", "setuptools"}
SITE_DIRS = ("plugins", "templates", "static", "releases")  # releases/: every release stays downloadable


# ---- pure helpers -------------------------------------------------------------------------------

def pins(requirements_text: str) -> dict[str, tuple[str, str]]:
    """requirements.txt's `Name==version` lines: canonical name → (name, version)."""
    found = {}
    for line in requirements_text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            found[canonicalize_name(name)] = (name.strip(), version.strip())
    return found


def site_plugins(pinned: dict, plugin_dists: set[str]) -> list[str]:
    """Pinned distributions that register Datasette plugins, less the publishing tools."""
    return sorted(n for n in pinned if n in plugin_dists and n not in PUBLISH_TOOLS)


def run_time_requirements(requirement_strings: list[str] | None) -> list[str]:
    """Canonical names of the requirements that apply at run time (no extras), on this Python."""
    names = []
    for text in requirement_strings or []:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            names.append(canonicalize_name(req.name))
    return names


def image_pins(requirements_text: str, requires, plugin_dists: set[str]) -> list[tuple[str, str]]:
    """What the site needs at run time — datasette, the Datasette plugins pinned in requirements.txt
    (less PUBLISH_TOOLS), SERVER_SPEEDUPS, IMAGE_ONLY, and everything they require — each at its one pin.

    requires(name, version) gives a distribution's requirement strings.
    """
    pinned = pins(requirements_text)
    wanted = ["datasette", *site_plugins(pinned, plugin_dists), *SERVER_SPEEDUPS, *IMAGE_ONLY]
    chosen = {}
    while wanted:
        name = canonicalize_name(wanted.pop())
        if name in chosen or name in BASE_IMAGE_PROVIDES:
            continue
        if name in IMAGE_ONLY:
            version, reqs = IMAGE_ONLY[name]
            chosen[name] = (name, version)
        elif name in pinned:
            chosen[name] = pinned[name]
            reqs = requires(*pinned[name])
        else:
            raise ValueError(f"{name} is needed at run time but has no pin in requirements.txt")
        wanted += run_time_requirements(reqs)
    return sorted(chosen.values(), key=lambda nv: canonicalize_name(nv[0]))


def requirements_txt(image: list[tuple[str, str]]) -> str:
    lines = ["# Generated by `make deploy-files` (scripts/deploy.py): what the site needs at run time, at",
             "# requirements.txt's pins, plus datasette-hashed-urls (image only). Installed with --no-deps.",
             *(f"{name}=={version}" for name, version in image)]
    return "\n".join(lines) + "\n"


# scripts/serve.py runs the site in the image too: the one place its flags and workers come from.
SERVE_FILES = ("scripts/__init__.py", "scripts/serve.py")


def container_command(port: int | str) -> list[str]:
    """scripts.serve for the image: the build context's own copies, by paths relative to WORKDIR."""
    return ["python", "-m", "scripts.serve", "--root", ".", "--db", DB_NAME, "--build-dir", ".",
            "--host", "0.0.0.0", "--port", str(port), "--hashed-urls"]


def cmd_instruction(argv: list[str]) -> str:
    """Exec form; a shell (replaced by datasette through exec) only where "$PORT" must be expanded."""
    if "$PORT" not in argv:
        return "CMD " + json.dumps(argv)
    return "CMD exec " + " ".join('"$PORT"' if a == "$PORT" else shlex.quote(a) for a in argv)


def dockerfile(port: int | str) -> str:
    listen = (["# Cloud Run sets PORT (8080 unless the service says otherwise); 8080 for a local `docker run`.",
               "ENV PORT=8080"] if port == "$PORT" else [])
    return "\n".join([
        "# Generated by `make deploy-files` (scripts/deploy.py). Edit the repository and regenerate.",
        f"FROM {BASE_IMAGE}",
        "WORKDIR /app",
        "ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1",
        "COPY requirements.txt ./",
        "# Exactly the pins in requirements.txt, nothing resolved at build time; pip check fails the",
        "# build if any of them lacks a dependency.",
        "RUN pip install --no-cache-dir --no-deps -r requirements.txt && pip check",
        "RUN useradd --system --no-create-home datasette",
        "# nk_russia.db, metadata.json, inspect.json (from `make build`), settings.json, plugins/, templates/,",
        "# static/ and scripts/serve.py",
        "COPY . ./",
        "USER datasette",
        "# CDN caching: datasette-hashed-urls (requirements.txt; --hashed-urls below refuses to start without it)",
        "# moves the immutable database to /nk_russia-<hash>/... and sends `Cache-Control: max-age=31536000, public`",
        "# there; new data, new URLs.",
        "# Only successful responses keep it: plugins/nk_hardening.py makes errors no-store, redirects a day at most.",
        *listen,
        "EXPOSE 8080",
        "# scripts/serve.py's flags, the settings of settings.json included, on 0.0.0.0; one worker process per",
        "# CPU the container may use (set WORKERS to override). No DATASETTE_SECRET: the site signs nothing",
        "# that must outlive an instance.",
        cmd_instruction(container_command(port)),
    ]) + "\n"


# ---- the installed environment ------------------------------------------------------------------

def installed_requires(name: str, version: str) -> list[str]:
    """A pinned distribution's requirements, from the virtualenv, which must hold that very version."""
    installed = importlib.metadata.version(name)
    if installed != version:
        raise ValueError(f"{name} {installed} is installed but requirements.txt pins {version}: run `make install`")
    return importlib.metadata.requires(name) or []


def installed_plugin_dists() -> set[str]:
    return {canonicalize_name(ep.dist.name) for ep in importlib.metadata.entry_points(group="datasette")}


# ---- directory layout (Datasette's packaging code) ----------------------------------------------

def lay_out_cloudrun(db: Path, metadata: Path, target: Path, root: Path = ROOT) -> None:
    from datasette.utils import temporary_docker_directory
    with open(metadata, encoding="utf-8") as m, temporary_docker_directory(
            files=[str(db)], name="cloudrun", metadata=m, extra_options=None, branch=None,
            template_dir=str(root / "templates"), plugins_dir=str(root / "plugins"),
            static=[("static", str(root / "static"))], install=[], spatialite=False, version_note=None,
            secret="unused", port=8080) as laid_out:
        shutil.copytree(laid_out, target)  # copies: the temporary directory hard-links the sources


def lay_out_fly(db: Path, metadata: Path, target: Path, app: str, root: Path = ROOT) -> None:
    command = [datasette_command(), "publish", "fly", str(db), "--app", app, "--generate-dir", str(target),
               "--metadata", str(metadata), "--template-dir", str(root / "templates"),
               "--plugins-dir", str(root / "plugins"), "--static", f"static:{root / 'static'}"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"datasette publish fly --generate-dir failed:\n{result.stdout}{result.stderr}")


def finish(target: Path, port: int | str, build_dir: Path, requirements: str, root: Path = ROOT) -> None:
    (target / "Dockerfile").write_text(dockerfile(port), encoding="utf-8")
    (target / "requirements.txt").write_text(requirements, encoding="utf-8")
    for name in ("metadata.json", "inspect.json"):
        shutil.copyfile(build_dir / name, target / name)
    shutil.copyfile(root / "settings.json", target / "settings.json")
    for name in SERVE_FILES:
        (target / name).parent.mkdir(exist_ok=True)
        shutil.copyfile(root / name, target / name)
    # Beside plugins/, where plugins/nk_releases.py serves old releases from (Datasette's packaging copies
    # only plugins, templates and static).
    shutil.copytree(root / "releases", target / "releases", dirs_exist_ok=True)
    for cache in [p for p in target.rglob("__pycache__") if p.is_dir()]:
        shutil.rmtree(cache)


def generate(out: Path, db: Path, build_dir: Path, fly_app: str = FLY_APP, root: Path = ROOT) -> dict[str, Path]:
    """Write out/cloudrun and out/fly afresh; returns them."""
    if db.name != DB_NAME:
        raise ValueError(f"the database must be named {DB_NAME}, not {db.name}")
    for needed in (db, build_dir / "metadata.json", build_dir / "inspect.json"):
        if not needed.is_file():
            raise FileNotFoundError(f"{needed} is missing: run `make build`")
    requirements = requirements_txt(image_pins((root / "requirements.txt").read_text(encoding="utf-8"),
                                               installed_requires, installed_plugin_dists()))
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    with tempfile.TemporaryDirectory(dir=out, prefix=".staging-") as staging:
        staged = Path(staging)
        lay_out_cloudrun(db, build_dir / "metadata.json", staged / "cloudrun", root)
        lay_out_fly(db, build_dir / "metadata.json", staged / "fly", fly_app, root)
        for name, port in TARGETS.items():
            finish(staged / name, port, build_dir, requirements, root)
        for name in TARGETS:  # replaced only once both were written
            shutil.rmtree(out / name, ignore_errors=True)
            (staged / name).rename(out / name)
            written[name] = out / name
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "deploy")
    parser.add_argument("--db", type=Path, default=ROOT / DB_NAME)
    parser.add_argument("--build-dir", type=Path, default=ROOT / "build")
    parser.add_argument("--fly-app", default=FLY_APP, help="the app name written to fly.toml")
    args = parser.parse_args(argv)
    try:
        written = generate(args.out.resolve(), args.db.resolve(), args.build_dir.resolve(), args.fly_app)
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        print(f"deploy-files: {e}", file=sys.stderr)
        return 1
    for name, path in written.items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
