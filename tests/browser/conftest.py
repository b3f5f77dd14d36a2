"""JupyterLab on loopback in throwaway folders, and a headless Chromium page pointed at it.

Nothing here writes into the repository or reaches a network: Lab's config, data,
runtime, IPython and cache folders are temporary; Lab listens on 127.0.0.1 with a random
token and checks for neither news nor updates; Chromium runs with its background
services off, and any request that is not for Lab is refused and recorded.

The browser is Debian's ``chromium`` package (``make setup`` installs it when running as
root); Playwright's own browser download is never used.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import psutil
import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route, ViewportSize

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "test-output" / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests run as root, where Chromium's sandbox refuses to start
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-sync",
    "--no-first-run",
    "--no-proxy-server",
    "--autoplay-policy=no-user-gesture-required",
]
VIEWPORT: ViewportSize = {"width": 1400, "height": 1100}
LAB_START_SECONDS = 90.0
LAB_STOP_SECONDS = 20.0
# The announcements plugin asks about news in a pop-up that covers the notebook.
DISABLED_PLUGINS = ["@jupyterlab/apputils-extension:announcements"]
# Variables that would send the kernel to a remote API or through a proxy.
DROPPED_VARIABLES = ("FACESWAP_BASE_URL", "FACESWAP_API_KEY", "http_proxy", "https_proxy", "all_proxy",
                     "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
# The screenshots copied to SCREENSHOT_DIR in this run, listed at its end.
_PUBLISHED = pytest.StashKey[list[Path]]()


def browser_skip_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found: run `make setup` as root (it installs Debian's chromium package)"
    if importlib.util.find_spec("playwright") is None:
        return "Python Playwright is not installed: run `make setup` (it is in the dev extra)"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip before Lab starts when the browser or Playwright is missing."""
    reason = browser_skip_reason()
    if reason:
        pytest.skip(reason)


@dataclass
class LabServer:
    """A running ``jupyter lab`` serving ``root`` on 127.0.0.1."""

    root: Path
    port: int
    token: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base_url(self) -> str:
        """Lab's address, without the token."""
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, name: str) -> str:
        """The address that opens notebook ``name`` (relative to ``root``) in Lab."""
        return f"{self.base_url}/lab/tree/{name}?token={self.token}"

    def log_tail(self, lines: int = 60) -> str:
        """The end of Lab's log (kernel tracebacks land here too), for failure messages."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _lab_environment(state: Path) -> dict[str, str]:
    """The environment for Lab and its kernels: every writable folder under ``state``."""
    env = {key: value for key, value in os.environ.items() if key not in DROPPED_VARIABLES}
    folders = {
        "JUPYTER_CONFIG_DIR": "config", "JUPYTER_DATA_DIR": "data", "JUPYTER_RUNTIME_DIR": "runtime",
        "IPYTHONDIR": "ipython", "XDG_CACHE_HOME": "cache", "MPLCONFIGDIR": "matplotlib",
    }
    for variable, name in folders.items():
        (state / name).mkdir(parents=True, exist_ok=True)
        env[variable] = str(state / name)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def _write_lab_config(config_dir: Path) -> None:
    """Turn off the plugins in DISABLED_PLUGINS through Lab's page config."""
    labconfig = config_dir / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    disabled = dict.fromkeys(DISABLED_PLUGINS, True)
    (labconfig / "page_config.json").write_text(json.dumps({"disabledExtensions": disabled}))


def _lab_command(root: Path, port: int, token: str) -> list[str]:
    return [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly", "--LabApp.expose_app_in_browser=True",
    ]


def _wait_until_answering(lab: LabServer) -> None:
    """Return once Lab's REST API answers; raise with its log if it exits or stays silent."""
    deadline = time.monotonic() + LAB_START_SECONDS
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {lab.process.returncode}:\n{lab.log_tail()}")
        try:
            if httpx.get(f"{lab.base_url}/api/status", params={"token": lab.token}, timeout=2).is_success:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"jupyter lab did not answer within {LAB_START_SECONDS:.0f} s:\n{lab.log_tail()}")


def _stop_lab(lab: LabServer) -> None:
    """Stop Lab (which shuts its kernels down), then any of its processes that outlived it."""
    try:
        children = psutil.Process(lab.process.pid).children(recursive=True)  # kernels, local servers
    except psutil.NoSuchProcess:
        children = []
    family = [lab.process.pid, *(child.pid for child in children)]
    lab.process.terminate()
    try:
        lab.process.wait(LAB_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        lab.process.kill()
        lab.process.wait()
    survivors = [psutil.Process(pid) for pid in family if psutil.pid_exists(pid)]
    _, alive = psutil.wait_procs(survivors, timeout=LAB_STOP_SECONDS)
    for process in alive:
        process.kill()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabServer]:
    """JupyterLab serving an empty ``tmp_path/root`` on a free loopback port."""
    root, state = tmp_path / "root", tmp_path / "lab-state"
    root.mkdir()
    env = _lab_environment(state)
    _write_lab_config(Path(env["JUPYTER_CONFIG_DIR"]))
    port, token = _free_port(), secrets.token_hex(16)
    log = tmp_path / "lab.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(_lab_command(root, port, token), cwd=root, env=env,
                                   stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT)
    server = LabServer(root=root, port=port, token=token, process=process, log=log)
    try:
        _wait_until_answering(server)
        yield server
    finally:
        _stop_lab(server)


def _browser_environment(home: Path) -> dict[str, str | float | bool]:
    """Chromium's environment: its config and crash reports go under ``home``, no proxy."""
    env: dict[str, str | float | bool] = {k: v for k, v in os.environ.items() if k not in DROPPED_VARIABLES}
    for variable, name in (("HOME", "."), ("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache")):
        (home / name).mkdir(parents=True, exist_ok=True)
        env[variable] = str((home / name).resolve())
    return env


@pytest.fixture
def offsite_requests() -> list[str]:
    """Every request the page tried to send anywhere but Lab (each one was refused)."""
    return []


@pytest.fixture
def page(lab: LabServer, offsite_requests: list[str], tmp_path: Path) -> Iterator[Page]:
    """A headless Chromium page that may load only from ``lab``."""
    from playwright.sync_api import sync_playwright

    def only_lab(route: Route) -> None:
        if route.request.url.startswith(f"{lab.base_url}/"):
            route.continue_()
        else:
            offsite_requests.append(route.request.url)
            route.abort("blockedbyclient")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
                                             env=_browser_environment(tmp_path / "chromium-home"))
        try:
            context = browser.new_context(viewport=VIEWPORT)
            context.route("**/*", only_lab)
            yield context.new_page()
        finally:
            browser.close()


@pytest.fixture
def publish(request: pytest.FixtureRequest) -> Callable[[Path], Path]:
    """A function that copies a screenshot to test-output/browser/, for people to look at.

    The copies are listed at the end of the test run.
    """
    def copy(screenshot: Path) -> Path:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        target = Path(shutil.copyfile(screenshot, SCREENSHOT_DIR / screenshot.name))
        request.config.stash.setdefault(_PUBLISHED, []).append(target)
        return target

    return copy


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """List the screenshots the browser tests saved."""
    published = config.stash.get(_PUBLISHED, [])
    if published:
        terminalreporter.write_sep("-", "browser screenshots")
        for path in published:
            terminalreporter.write_line(str(path))
