"""Helpers for tests/test_browser.py: a throw-away JupyterLab server, a headless Chromium, and
the code that runs a notebook through the JupyterLab UI and reports what the page shows.

The server and the browser are context managers that clean up on the way out, whether the test
passed or failed: the server is asked to shut down (its kernels with it), then terminated, then
killed; the browser is closed. Nothing is installed or downloaded: JupyterLab comes from the
running interpreter's environment and Chromium is Debian's ``/usr/bin/chromium``.

What the DOM of JupyterLab 4.6 looks like (checked by hand, and relied on below):
- an error output and a stderr stream render alike: ``.jp-OutputArea-output.jp-RenderedText``
  with ``data-mime-type="application/vnd.jupyter.stderr"``. So errors are read from the notebook
  model (``output_type == "error"``), and from the page only as a traceback printed inside a
  widget's output area, which the notebook model does not hold;
- a live ipywidgets view is an element with the class ``jupyter-widgets``; a slider has both
  classes on one element, ``.jupyter-widgets.widget-slider``. Without a widget manager the same
  output shows only as text, such as ``interactive(children=...)``;
- a Mermaid block renders as ``.jp-RenderedMermaid`` holding ``<img src="data:image/svg+xml,...">``
  (an SVG image, not inline ``<svg>``); a diagram that failed to parse is
  ``.jp-RenderedMermaid.jp-mod-warning`` with the error text instead.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")

# Flags for a quiet, hermetic headless Chromium: no sandbox (CI runs as root), no GPU, and none of
# the background features that phone home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Settings overrides for the test server (JupyterLab reads `<app_settings_dir>/overrides.json`).
LAB_OVERRIDES: dict[str, dict[str, Any]] = {
    # No "Jupyter news" toast over the screenshots, and no requests to jupyter.org.
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    # Attach every cell to the DOM, in view or not, so the test sees every output and diagram.
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
}


def ci_requires_browser() -> bool:
    """True on CI (``CI=true``), where a missing browser is a failure rather than a skip."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------------------------
# The server


@dataclass
class LabServer:
    """A running JupyterLab server: where it is, how to get in, and where its files live."""

    base_url: str
    token: str
    root_dir: Path
    log_path: Path

    def url(self, path: str, **query: str) -> str:
        """The URL of `path` on the server, with any `query` items and the token appended."""
        items = [*(f"{key}={value}" if value else key for key, value in query.items()), f"token={self.token}"]
        return f"{self.base_url}/{path.lstrip('/')}?{'&'.join(items)}"

    def api(self, path: str, method: str = "GET") -> Any:
        """Call the server's REST API; return the decoded JSON (None when the body is empty)."""
        request = urllib.request.Request(
            f"{self.base_url}/api/{path.lstrip('/')}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_sessions(self) -> None:
        """Stop every notebook session and its kernel (frees memory between notebooks)."""
        for session in self.api("sessions"):
            self.api(f"sessions/{session['id']}", method="DELETE")

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the server's log, for failure messages."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no server log)"


def _stop_process(process: subprocess.Popen[bytes], server: LabServer) -> None:
    """Shut the server down politely (kernels included), then firmly."""
    if process.poll() is None:
        try:
            server.api("shutdown", method="POST")
            process.wait(timeout=20)
        except (OSError, urllib.error.URLError, subprocess.TimeoutExpired):
            pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            break
        process.send_signal(sig)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def lab_server(source: Path, workdir: Path, startup_timeout: float = 60.0) -> Iterator[LabServer]:
    """Start JupyterLab on a copy of the folder `source` made inside `workdir`; stop it on exit.

    Everything the server writes (checkpoints, settings, workspaces, runtime files) stays in
    `workdir`, so the repository is never touched. The server inherits ``os.environ``, which the
    test plugin (tests/testenv.py) has already set to fast, offline mode; kernels inherit it too.
    """
    root = workdir / "notebooks"
    shutil.copytree(source, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    config_dir, settings_dir, workspaces_dir, runtime_dir, app_settings_dir = (
        workdir / name for name in ("config", "user-settings", "workspaces", "runtime", "app-settings")
    )
    for directory in (config_dir, settings_dir, workspaces_dir, runtime_dir, app_settings_dir):
        directory.mkdir(parents=True)
    (app_settings_dir / "overrides.json").write_text(json.dumps(LAB_OVERRIDES, indent=2))

    port, token = free_port(), secrets.token_hex(24)
    command = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={settings_dir}",
        f"--LabApp.workspaces_dir={workspaces_dir}",
        f"--LabApp.app_settings_dir={app_settings_dir}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: the notebook model and kernel state
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config_dir),
        "JUPYTER_RUNTIME_DIR": str(runtime_dir),
        "JUPYTERLAB_SETTINGS_DIR": str(settings_dir),
        "JUPYTERLAB_WORKSPACES_DIR": str(workspaces_dir),
    }
    log_path = workdir / "jupyterlab.log"
    server = LabServer(f"http://127.0.0.1:{port}", token, root, log_path)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + startup_timeout
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"JupyterLab exited with code {process.returncode}:\n{server.log_tail()}")
                try:
                    server.api("status")
                    break
                except (OSError, urllib.error.URLError):
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"JupyterLab did not answer within {startup_timeout:.0f} s:\n{server.log_tail()}"
                        ) from None
                    time.sleep(0.25)
            yield server
        finally:
            _stop_process(process, server)


# --------------------------------------------------------------------------------------------
# The browser


@contextmanager
def chromium(profile_dir: Path, viewport: tuple[int, int] = (1400, 1000)) -> Iterator[Any]:
    """A fresh headless Chromium (its profile in `profile_dir`) as a Playwright BrowserContext.

    The browser is closed on exit. Open pages with ``context.new_page()``.
    """
    from playwright.sync_api import sync_playwright  # imported late: collecting tests needs no browser

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile_dir),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            # Chromium keeps crash reports under $XDG_CONFIG_HOME whatever the profile: keep them here too.
            env={
                **os.environ,
                "XDG_CONFIG_HOME": str(profile_dir / "xdg-config"),
                "XDG_CACHE_HOME": str(profile_dir / "xdg-cache"),
            },
            viewport={"width": viewport[0], "height": viewport[1]},
        )
        try:
            yield context
        finally:
            context.close()


# --------------------------------------------------------------------------------------------
# Running a notebook in the page

# The open notebook's path, its kernel's state, and whether a dialog is up.
_STATE_JS = """() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  const context = panel && panel.context;
  const session = panel && panel.sessionContext && panel.sessionContext.session;
  const kernel = session && session.kernel;
  const dialogs = [...document.querySelectorAll('.jp-Dialog')].map(
    d => (d.querySelector('.jp-Dialog-header') || d).textContent.trim());
  return {
    path: context ? context.path : null,
    ready: !!(context && context.isReady && panel.sessionContext.isReady),
    kernel: kernel ? kernel.name : null,
    connection: kernel ? kernel.connectionStatus : null,
    status: kernel ? kernel.status : null,
    dialogs,
    running: [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputArea-prompt')]
      .filter(p => p.textContent.includes('*')).length,
  };
}"""

# What the notebook model holds: per cell, its type, source, execution count and a light summary of
# each output (types and MIME types; no image data, so polling stays cheap).
_MODEL_JS = """() => {
  const model = window.jupyterapp.shell.currentWidget.content.model;
  const text = s => Array.isArray(s) ? s.join('') : (typeof s === 'string' ? s : '');
  const cells = [];
  for (let index = 0; index < model.cells.length; index++) {
    const cell = model.cells.get(index);
    const outputs = [];
    const area = cell.type === 'code' ? cell.outputs : null;
    for (let j = 0; area && j < area.length; j++) {
      const output = area.get(j);
      const error = output.type === 'error' ? output.toJSON() : {};
      outputs.push({
        type: output.type,
        ename: error.ename || null,
        evalue: error.evalue || null,
        mimes: Object.keys(output.data || {}),
        text: text((output.data || {})['text/plain']).slice(0, 300),
      });
    }
    cells.push({
      index,
      type: cell.type,
      source: cell.sharedModel.getSource(),
      count: cell.type === 'code' ? (cell.executionCount ?? null) : null,
      outputs,
    });
  }
  return cells;
}"""

# What the page shows.
_DOM_JS = """() => {
  const all = sel => [...document.querySelectorAll('.jp-NotebookPanel ' + sel)];
  const outputs = all('.jp-OutputArea-output');
  return {
    stderr: all('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
      .map(e => e.textContent),
    widget_views: all('.jp-OutputArea-output > .jupyter-widgets').length,
    widgets: all('.jupyter-widgets').length,
    sliders: all('.jupyter-widgets.widget-slider').length,
    widget_errors: outputs.map(e => e.textContent)
      .filter(t => t.includes('Error displaying widget')).map(t => t.slice(0, 300)),
    mermaid_svg: all('.jp-RenderedMermaid:not(.jp-mod-warning)').filter(m =>
      m.querySelector('svg') || [...m.querySelectorAll('img')].some(i =>
        i.src.startsWith('data:image/svg+xml') && i.complete && i.naturalWidth > 0)).length,
    mermaid_failed: all('.jp-RenderedMermaid.jp-mod-warning').map(e => e.textContent.slice(0, 300)),
  };
}"""

MERMAID_FENCE = re.compile(r"^\s*(```|~~~)\s*mermaid\b", re.MULTILINE)
TRACEBACK = "Traceback (most recent call last)"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@dataclass
class NotebookReport:
    """What a notebook looked like in JupyterLab after "Run All Cells"."""

    name: str
    live: bool = True  # the notebook was run in the page (False: stored outputs only, no live widgets)
    finished: bool = False  # the run ended (all cells ran, or it stopped at an error) in time
    seconds: float = 0.0
    code_cells: int = 0
    unexecuted: list[int] = field(default_factory=list)  # code cells without an execution count
    errors: list[str] = field(default_factory=list)  # error outputs, in the model or in widgets
    stderr_outputs: int = 0  # harmless stderr streams (warnings), counted, not failed
    widget_outputs: int = 0  # outputs that carry a widget view
    widget_views: int = 0  # live widget views rendered as outputs
    sliders: int = 0  # live sliders, anywhere in the notebook
    widget_errors: list[str] = field(default_factory=list)
    text_fallbacks: list[str] = field(default_factory=list)  # widgets shown only as text
    mermaid_blocks: int = 0  # ```mermaid fences in markdown cells
    mermaid_rendered: int = 0  # diagrams rendered as SVG
    mermaid_failed: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)  # uncaught JavaScript errors, for context
    screenshots: list[Path] = field(default_factory=list)

    def problems(self, require_slider: bool) -> list[str]:
        """Everything wrong with the run, in words; empty when the notebook is fine."""
        found = []
        if not self.finished:
            found.append(f"the run did not finish in time (cells without a count: {self.unexecuted})")
        elif self.unexecuted:
            found.append(f"code cells never ran: {self.unexecuted}")
        found += [f"error output: {error}" for error in self.errors]
        if self.live:  # stored widget outputs without their kernel cannot render; that is no fault
            found += [f"widget failed to render: {text}" for text in self.widget_errors]
        found += [f"widget shown only as text: {text}" for text in self.text_fallbacks]
        if self.live and self.widget_views < self.widget_outputs:
            found.append(f"{self.widget_outputs} widget outputs but only {self.widget_views} live widget views")
        if require_slider and self.sliders < 1:
            found.append("no live ipywidgets slider (.jupyter-widgets.widget-slider) rendered")
        found += [f"Mermaid diagram failed: {text}" for text in self.mermaid_failed]
        missing = self.mermaid_blocks - self.mermaid_rendered - len(self.mermaid_failed)
        if missing > 0:
            found.append(f"{missing} of {self.mermaid_blocks} Mermaid blocks neither rendered nor failed")
        return found


def _wait_for_kernel(page: Any, name: str, timeout: float) -> dict[str, Any]:
    """Wait until `name` is open with its kernel connected and idle; accept a kernel picker."""
    deadline = time.monotonic() + timeout
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = page.evaluate(_STATE_JS)
        if "Select Kernel" in state["dialogs"]:
            # On a slow start JupyterLab may ask; its pick is the notebook's own kernel, python3.
            page.locator(".jp-Dialog .jp-mod-accept").click()
        elif state["path"] == name and state["connection"] == "connected" and state["status"] == "idle":
            return state
        time.sleep(0.25)
    raise TimeoutError(f"{name}: kernel not connected and idle after {timeout:.0f} s; last state {state}")


def _run_all_cells(page: Any) -> None:
    """Run > Run All Cells, through the menu bar, as a learner would."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item:visible .lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


def _quiet(state: dict[str, Any]) -> bool:
    """The kernel is idle and no cell shows the busy prompt ``[*]``."""
    return state["status"] == "idle" and not state["running"]


def _run_finished(cells: list[dict[str, Any]], state: dict[str, Any]) -> bool:
    """Every code cell has run, or the run stopped at an error, and the kernel is idle."""
    if not _quiet(state) or not cells:
        return False
    code = [cell for cell in cells if cell["type"] == "code" and cell["source"].strip()]
    stopped_at_error = any(output["type"] == "error" for cell in code for output in cell["outputs"])
    return stopped_at_error or all(cell["count"] is not None for cell in code)


def _wait_until(page: Any, check: str, timeout: float) -> bool:
    """Wait for a JavaScript predicate; False (not an exception) when it times out."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(check, timeout=timeout * 1000, polling=250)
    except PlaywrightTimeout:
        return False
    return True


def run_notebook(
    page: Any, server: LabServer, name: str, screenshot_dir: Path, run_timeout: float = 180.0, *, run: bool = True
) -> NotebookReport:
    """Open `name` in JupyterLab, run all its cells from the menu, wait, and report what rendered.

    With ``run=False`` the notebook is only opened and its stored outputs are read (an executed
    copy, so that no course notebook runs twice in one test session); live widgets then cannot be
    expected. Screenshots go to `screenshot_dir` (named after the notebook) whatever the outcome; the
    report lists them. Raises only when JupyterLab does not come up: the page, the kernel or
    the Run menu missing.
    """
    report = NotebookReport(name, live=run)
    page.on("pageerror", lambda error: report.page_errors.append(str(error)))
    page.goto(server.url(f"lab/tree/{name}", reset=""), timeout=90_000)  # ?reset: no saved workspace
    start = time.monotonic()
    try:
        _wait_for_kernel(page, name, timeout=90)
        if run:
            _run_all_cells(page)
            stable = 0  # two finished polls in a row: a cell may briefly look done between messages
            while time.monotonic() - start < run_timeout and stable < 2:
                time.sleep(0.5)
                state = page.evaluate(_STATE_JS)  # cheap; the model only once the kernel looks done
                stable = stable + 1 if _run_finished(page.evaluate(_MODEL_JS) if _quiet(state) else [], state) else 0
            report.finished = stable >= 2
        else:
            report.finished = True
        cells: list[dict[str, Any]] = page.evaluate(_MODEL_JS)
        report.seconds = round(time.monotonic() - start, 1)

        report.mermaid_blocks = sum(
            len(MERMAID_FENCE.findall(cell["source"])) for cell in cells if cell["type"] == "markdown"
        )
        code = [cell for cell in cells if cell["type"] == "code" and cell["source"].strip()]
        report.code_cells = len(code)
        report.unexecuted = [cell["index"] for cell in code if cell["count"] is None]
        for cell in code:
            for output in cell["outputs"]:
                if output["type"] == "error":
                    report.errors.append(f"cell {cell['index']}: {output['ename']}: {output['evalue']}")
                if WIDGET_MIME in output["mimes"]:
                    report.widget_outputs += 1
                elif output["type"] in {"execute_result", "display_data"} and re.match(
                    r"^(interactive|\w*(Slider|Box|Widget|Button|Dropdown))\(", output["text"]
                ):
                    report.text_fallbacks.append(f"cell {cell['index']}: {output['text'][:120]}")

        # Widget views and diagrams render asynchronously: give them a moment before looking.
        _wait_until(
            page,
            f"() => document.querySelectorAll('.jp-OutputArea-output > .jupyter-widgets').length"
            f" >= {report.widget_outputs}",
            timeout=20,
        )
        _wait_until(
            page,
            "() => [...document.querySelectorAll('.jp-RenderedMermaid')].filter(m => m.querySelector('svg')"
            " || m.classList.contains('jp-mod-warning') || [...m.querySelectorAll('img')].some(i =>"
            f" i.complete && i.naturalWidth > 0)).length >= {report.mermaid_blocks}",
            timeout=20,
        )
        dom = page.evaluate(_DOM_JS)
        report.widget_views = dom["widget_views"]
        report.sliders = dom["sliders"]
        report.widget_errors = dom["widget_errors"]
        report.mermaid_rendered = dom["mermaid_svg"]
        report.mermaid_failed = dom["mermaid_failed"]
        model_errors = sum(output["type"] == "error" for cell in code for output in cell["outputs"])
        tracebacks = [text for text in dom["stderr"] if TRACEBACK in text]
        # Each model error renders one traceback; any more were printed inside a widget's output.
        report.errors += [f"in a widget output: {text[-300:]}" for text in tracebacks[model_errors:]]
        report.stderr_outputs = len(dom["stderr"]) - len(tracebacks)
    finally:
        report.screenshots = _screenshots(page, screenshot_dir, Path(name).stem)
    return report


def _screenshots(page: Any, directory: Path, stem: str) -> list[Path]:
    """Screenshots of the page: at the first traceback, else the first live widget, else the top
    of the notebook, else the page as it is; and at the first Mermaid diagram when there is one."""
    directory.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    main, diagram = directory / f"{stem}.png", directory / f"{stem}-mermaid.png"
    stderr = '.jp-NotebookPanel .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
    targets: list[tuple[Path, str | None, str | None]] = [
        (main, stderr, TRACEBACK),
        (main, ".jp-NotebookPanel .jupyter-widgets", None),
        (main, ".jp-NotebookPanel .jp-Cell", None),
        (main, None, None),
        (diagram, ".jp-NotebookPanel .jp-RenderedMermaid", None),
    ]
    for path, selector, has_text in targets:
        if path in saved:
            continue
        try:
            if selector is not None:
                target = page.locator(selector, has_text=has_text).first
                if not target.count():
                    continue
                # The whole cell from its top: the code, then what it rendered.
                target.evaluate("e => (e.closest('.jp-Cell') || e).scrollIntoView({block: 'start'})")
                page.wait_for_timeout(300)
            page.screenshot(path=str(path))
            saved.append(path)
        except Exception as error:
            print(f"screenshot {path.name} failed: {error}", file=sys.stderr)
    return saved
