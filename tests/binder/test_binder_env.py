"""The binder/ files build the environment the notebooks need, and start the server.

repo2docker installs ``binder/requirements.txt``, runs ``binder/postBuild`` from the
repository root, and wraps every session in ``binder/start``. The quick tests check the
files agree with ``pyproject.toml`` and that ``binder/start`` serves the API to the
command it runs. The last test does what Binder does, in a fresh venv from the package
index (about two minutes; skipped when the index cannot be reached), and runs the
quickstart there.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from faceswap_nb.server.local import free_port

tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11's tomllib")

REPO = Path(__file__).resolve().parents[2]
BINDER = REPO / "binder"
START = BINDER / "start"
# This venv's bin holds the `faceswap-nb` and `python` that binder/start runs.
VENV_BIN = Path(sys.executable).parent

HEALTH_CHECK = """
import os, faceswap_nb
client = faceswap_nb.connect()
assert client.settings.base_url == os.environ["FACESWAP_BASE_URL"]
print("health:", client.health()["status"], "jobs:", len(client.list_jobs().jobs))
"""

QUICKSTART = """
import os, sys, nbformat
from nbclient import NotebookClient
folder = sys.argv[1]
notebook = nbformat.read(os.path.join(folder, "quickstart.ipynb"), as_version=4)
NotebookClient(notebook, timeout=300, kernel_name="python3",
               resources={"metadata": {"path": folder}}).execute()
print(*(o.get("text", "") for c in notebook.cells for o in c.get("outputs", [])))
"""


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _requirements(lines: list[str]) -> dict[str, Requirement]:
    parsed = (Requirement(line) for line in lines if line.strip() and not line.lstrip().startswith("#"))
    return {canonicalize_name(req.name): req for req in parsed}


def _extras_with_dependencies(extras: set[str]) -> set[str]:
    """``extras`` plus the extras they pull in through ``faceswap_nb[...]`` entries."""
    optional = _pyproject()["project"]["optional-dependencies"]
    found, todo = set(), list(extras)
    while todo:
        extra = todo.pop()
        if extra in found:
            continue
        found.add(extra)
        for req in map(Requirement, optional[extra]):
            if canonicalize_name(req.name) == "faceswap-nb":
                todo.extend(req.extras)
    return found


def _start_env(home: Path, port: int, path: str | None = None) -> dict[str, str]:
    """A session's environment: no server configured, a private $HOME, a free port.

    ``path`` defaults to this venv's bin before the current PATH, as ``make lab`` sets it.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACESWAP_")}
    env.update(HOME=str(home), FACESWAP_PORT=str(port),
               PATH=path or f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    return env


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _stops_listening(port: int, within: float = 20.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not _listening(port):
            return True
        time.sleep(0.2)
    return False


def test_binder_requirements_use_the_versions_pyproject_asks_for():
    project = _pyproject()["project"]
    declared = _requirements(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared.update(_requirements(extra))
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    for name, req in _requirements(lines).items():
        assert name in declared, f"binder/requirements.txt has {name}, which pyproject.toml does not declare"
        assert req.specifier == declared[name].specifier, f"{name}: {req.specifier} vs {declared[name].specifier}"


def test_binder_python_is_one_the_project_supports():
    version = (BINDER / "runtime.txt").read_text().strip().removeprefix("python-")
    assert re.fullmatch(r"3\.\d+", version), "runtime.txt says python-3.X"
    assert version in SpecifierSet(_pyproject()["project"]["requires-python"])


def test_post_build_installs_every_extra_the_notebooks_say_they_need():
    installed = re.search(r'pip install .*-e "\.\[([a-z,]+)\]"', (BINDER / "postBuild").read_text())
    assert installed, "postBuild installs the project with its extras"
    extras = _extras_with_dependencies(set(installed.group(1).split(",")))
    for path in (REPO / "notebooks").glob("*.ipynb"):
        needs = re.search(r"faceswap_nb\[([a-z,]+)\]", path.read_text())
        assert needs and set(needs.group(1).split(",")) <= extras, path.name


def test_start_and_post_build_are_executable_bash_scripts():
    for script in (START, BINDER / "postBuild"):
        assert os.access(script, os.X_OK), f"{script.name} is not executable"
        assert script.read_text().startswith("#!/usr/bin/env bash\n")
    subprocess.run(["bash", "-n", str(START)], check=True)


def test_start_serves_the_api_to_its_command_and_stops_the_server_after_it(tmp_path):
    port = free_port()
    env = _start_env(tmp_path / "home", port)
    done = subprocess.run([str(START), "python", "-c", HEALTH_CHECK], check=False, env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "health: ok jobs: 0" in done.stdout
    assert f"server at http://127.0.0.1:{port}/v1" in done.stderr
    key = (tmp_path / "home" / ".faceswap_nb" / "server" / "api-key").read_text().strip()
    assert key and key not in done.stdout + done.stderr
    assert _stops_listening(port), "the server outlived the command binder/start ran"


def test_start_leaves_an_already_configured_server_alone(tmp_path):
    port = free_port()
    env = {**_start_env(tmp_path / "home", port), "FACESWAP_BASE_URL": "https://api.example.invalid/v1"}
    done = subprocess.run([str(START), "python", "-c", "import os; print(os.environ['FACESWAP_BASE_URL'])"],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "https://api.example.invalid/v1"
    assert not (tmp_path / "home" / ".faceswap_nb").exists() and not _listening(port)


def test_start_says_why_when_the_server_cannot_start(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([str(START), "true"], env=_start_env(tmp_path / "home", port),
                              capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert "the faceswap_nb server exited" in done.stderr


def _index_reachable(python: Path) -> bool:
    """Whether pip can reach its package index now (one quick look-up, no retries)."""
    probe = subprocess.run(
        [str(python), "-m", "pip", "index", "versions", "pip", "--timeout", "10", "--retries", "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    return probe.returncode == 0


def _copy_of_the_repo(target: Path) -> Path:
    """The files Binder would see: tracked and new ones, nothing git ignores."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def _sh(args: list[str], env: dict[str, str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, check=False, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_binder_files_build_an_environment_that_runs_the_quickstart(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is needed to list the files Binder would see")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    if not _index_reachable(venv / "bin" / "python"):
        pytest.skip("the package index cannot be reached (offline?): the Binder environment cannot be built")
    repo = _copy_of_the_repo(tmp_path / "repo")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FACESWAP_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}", VIRTUAL_ENV=str(venv))

    # What repo2docker does at build time, in its order.
    _sh(["python", "-m", "pip", "install", "--quiet", "-r", "binder/requirements.txt"], env, repo, 900)
    _sh(["bash", "binder/postBuild"], env, repo, 900)
    assert (repo / "notebooks" / "demo-media" / "target.mp4").exists()

    # What it does for a session: binder/start wraps the command, here a health check
    # and the quickstart instead of JupyterLab.
    port = free_port()
    session = _start_env(tmp_path / "home", port, path=env["PATH"])
    session.pop("VIRTUAL_ENV", None)
    check = f"{HEALTH_CHECK}\nexec({QUICKSTART!r})"
    done = _sh(["binder/start", "python", "-c", check, str(repo / "notebooks")], session, repo, 900)
    assert "health: ok" in done.stdout
    assert re.search(r"job [0-9a-f-]{36}: completed", done.stdout), done.stdout
    assert list((repo / "notebooks" / "fsnb-results").glob("*.mp4"))
    assert _stops_listening(port)
