"""make deploy-files: the Cloud Run and Fly directories generated offline from the built site."""
import ast
import hashlib
import importlib.metadata
import json
import shlex
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from scripts import deploy
from scripts import serve

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("cloudrun", "fly")
REGISTRY_HOSTS = ("pypi.org", "pythonhosted.org", "pypi.python.org", "npmjs", "debian.org", "debian.net",
                  "--index-url", "--extra-index-url", "--find-links")


@pytest.fixture(scope="module")
def generated(built, tmp_path_factory):
    out = tmp_path_factory.mktemp("deploy")
    assert deploy.main(["--out", str(out), "--db", str(built["db"]), "--build-dir", str(built["dir"] / "build")]) == 0
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def site_files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): sha256(p)
            for d in deploy.SITE_DIRS for p in (root / d).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def cmd_args(dockerfile: str) -> list[str]:
    [line] = [line for line in dockerfile.splitlines() if line.startswith("CMD ")]
    rest = line[len("CMD "):]
    if rest.startswith("["):
        return json.loads(rest)
    argv = shlex.split(rest)
    assert argv[0] == "exec"  # the shell hands PID 1 to scripts.serve
    return argv[1:]


def without_host_and_port(argv: list[str]) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in ("--host", "--port"):
            skip = True
        else:
            out.append(a)
    return out


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def image_pins(directory: Path) -> dict[str, tuple[str, str]]:
    return deploy.pins((directory / "requirements.txt").read_text(encoding="utf-8"))


def test_each_directory_holds_the_built_site_byte_for_byte(generated, built):
    for target in TARGETS:
        d = generated / target
        assert sha256(d / "nk_russia.db") == sha256(built["db"])
        for name in ("metadata.json", "inspect.json"):
            assert (d / name).read_bytes() == (built["dir"] / "build" / name).read_bytes()
        assert (d / "settings.json").read_bytes() == (ROOT / "settings.json").read_bytes()
        assert site_files(d) == site_files(ROOT)  # every plugin, template and static file, same bytes
        assert not list(d.rglob("__pycache__"))
        assert "COPY . ./" in (d / "Dockerfile").read_text()


def test_images_install_exactly_the_repository_pins(generated):
    repo = deploy.pins((ROOT / "requirements.txt").read_text(encoding="utf-8"))
    for target in TARGETS:
        image = image_pins(generated / target)
        for name, (_, version) in image.items():
            expected = deploy.IMAGE_ONLY[name][0] if name in deploy.IMAGE_ONLY else repo[name][1]
            assert version == expected, name
        assert image["datasette"][1] == "0.65.5" == repo["datasette"][1]
        assert image["datasette-vega"][1] == repo["datasette-vega"][1]
        assert image["datasette-hashed-urls"] == serve.HASHED_URLS  # the version `make install` fetches for the tests
        assert not {"datasette-publish-fly", "pytest", "playwright", "csvkit", "frictionless"} & set(image)
        assert {"httptools", "uvloop"} <= set(image)  # the workers' compiled HTTP parser and event loop
        installs = [line for line in (generated / target / "Dockerfile").read_text().splitlines()
                    if line.startswith("RUN ") and "pip " in line]
        assert installs == ["RUN pip install --no-cache-dir --no-deps -r requirements.txt && pip check"]


def test_image_requirements_are_complete(generated):
    """What pip check does in the image: every run-time requirement of every pin is pinned, and fits."""
    image = image_pins(generated / "cloudrun")
    for name, (dist, version) in image.items():
        reqs = deploy.IMAGE_ONLY[name][1] if name in deploy.IMAGE_ONLY else importlib.metadata.requires(dist) or []
        for text in reqs:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            needed = canonicalize_name(req.name)
            if needed in deploy.BASE_IMAGE_PROVIDES:
                continue
            assert needed in image, f"{name} needs {text}"
            assert req.specifier.contains(image[needed][1], prereleases=True), f"{name} needs {text}"


def test_every_plugin_the_site_uses_is_in_the_images(generated):
    image = image_pins(generated / "cloudrun")
    repo = deploy.pins((ROOT / "requirements.txt").read_text(encoding="utf-8"))
    for dist in deploy.installed_plugin_dists() & set(repo):
        assert dist in image or dist in deploy.PUBLISH_TOOLS, dist
    owners = importlib.metadata.packages_distributions()
    for source in (ROOT / "plugins").glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                       else [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names:
                    assert {canonicalize_name(d) for d in owners[top]} & set(image), (source.name, module)


def test_cmd_is_scripts_serve_on_all_interfaces(generated, built):
    """The image runs scripts/serve.py (its own copy) and so gets make serve's Datasette arguments and workers."""
    local, _, hashed_locally = serve.parse(["--db", str(built["db"]), "--build-dir", str(built["dir"] / "build"), "--port", "8001"])
    in_image = {str(built["db"]): "nk_russia.db",
                str(built["dir"] / "build" / "inspect.json"): "inspect.json",
                str(built["dir"] / "build" / "metadata.json"): "metadata.json",
                str(ROOT / "templates"): "templates", str(ROOT / "plugins"): "plugins",
                f"static:{ROOT / 'static'}": "static:static"}
    expected = [in_image.get(a, a) for a in without_host_and_port(local)]
    for target, port in (("cloudrun", "$PORT"), ("fly", "8080")):
        d = generated / target
        argv = cmd_args((d / "Dockerfile").read_text())
        assert argv[:3] == ["python", "-m", "scripts.serve"]
        assert (d / "scripts" / "serve.py").read_bytes() == (ROOT / "scripts" / "serve.py").read_bytes()
        in_container, workers, hashed = serve.parse(argv[3:])
        assert workers >= 1 and "--workers" not in argv  # one per CPU the container may use, or WORKERS
        assert hashed and not hashed_locally  # the images serve hashed URLs, as tests/test_hashed_urls.py runs them
        assert without_host_and_port(in_container) == expected
        assert option(argv, "--host") == "0.0.0.0" and option(argv, "--port") == port
        for flag in ("--immutable", "--inspect-file", "--metadata", "--template-dir", "--plugins-dir"):
            assert (d / option(in_container, flag)).exists(), (target, flag)
        assert (d / option(in_container, "--static").split(":", 1)[1]).is_dir()
    assert option(local, "--host") == "127.0.0.1"  # make serve stays local


def test_cloud_run_listens_on_port_and_fly_on_its_internal_port(generated):
    cloudrun = (generated / "cloudrun" / "Dockerfile").read_text()
    assert "ENV PORT=8080" in cloudrun and "EXPOSE 8080" in cloudrun
    assert ' --port "$PORT"' in cloudrun  # expanded by the shell, not passed as the text $PORT
    fly = tomllib.loads((generated / "fly" / "fly.toml").read_text())
    assert fly["app"] == deploy.FLY_APP
    [service] = fly["services"]
    dockerfile = (generated / "fly" / "Dockerfile").read_text()
    assert service["internal_port"] == 8080 == int(option(cmd_args(dockerfile), "--port"))
    assert "EXPOSE 8080" in dockerfile


def test_no_package_registry_is_named(generated):
    for path in generated.rglob("*"):
        if path.is_file() and path.suffix != ".db":
            text = path.read_text(encoding="utf-8").lower()
            for host in REGISTRY_HOSTS:
                assert host not in text, (path, host)


def test_regenerating_replaces_the_directories(built, tmp_path):
    stale = tmp_path / "fly" / "stale.txt"
    stale.parent.mkdir()
    stale.write_text("old")
    args = ["--out", str(tmp_path), "--db", str(built["db"]), "--build-dir", str(built["dir"] / "build")]
    assert deploy.main(args) == 0
    assert not stale.exists() and (tmp_path / "fly" / "fly.toml").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cloudrun", "fly"]  # no staging left behind


def test_refuses_without_a_build(tmp_path, capsys):
    assert deploy.main(["--out", str(tmp_path / "out"), "--db", str(tmp_path / "nk_russia.db")]) == 1
    assert "make build" in capsys.readouterr().err


def test_make_target_and_ignored_output():
    makefile = (ROOT / "Makefile").read_text()
    assert "deploy-files: build\n\t$(PY) -m scripts.deploy\n" in makefile
    assert "/deploy/" in (ROOT / ".gitignore").read_text().splitlines()
