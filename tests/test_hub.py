"""JupyterHub on loopback (deploy/jupyterhub_config.py): the class setup is safe, and three learners run notebook 00.

The Hub, its Python configurable-http-proxy and the learners' servers run as child processes on
127.0.0.1 with a state folder of their own; everything is stopped at the end (the Hub stops the
servers and the proxy; any process still alive is then killed). One Hub, in the class setup
(``SharedPasswordAuthenticator``, the simple spawner), serves the module's tests. When the tests run
as root (a container with no other account), it is started with ``COURSE_HUB_ALLOW_ROOT=1``, the
config's explicit override; without it the config refuses, which a test below checks.

- A wrong password is refused at the login form, and so is the class password for the teacher's name.
- A learner logged in through the form reaches their own server and gets a 403 on another learner's.
- Unsafe starts are refused: ``jupyterhub`` exits with status 1 and a message saying what to set.
- Through the Hub's REST API and the ``course-admin`` service token, three users start their servers
  at once and each runs the code cells of their own copy of notebooks/00_setup.ipynb on a kernel
  over its websocket, the three simultaneously, in fast mode. Each must finish without an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "jupyterhub_config.py"
JUPYTERHUB = str(Path(sys.executable).parent / "jupyterhub")
USERS = ("ada", "grace", "alan")
NOTEBOOK = "course/notebooks/00_setup.ipynb"
CLASS_PASSWORD = "class-password-" + secrets.token_hex(4)
ADMIN_PASSWORD = secrets.token_urlsafe(32)
START_S = 180
RUN_S = 420
AS_ROOT = os.geteuid() == 0

pytestmark = [pytest.mark.hub, pytest.mark.timeout(START_S + RUN_S + 120)]


def _free_port_block() -> int:
    """A port p with p, p+1 and p+2 free on loopback (proxy, Hub, proxy API)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port > 65000:
            continue
        try:
            for offset in (1, 2):
                with socket.socket() as other:
                    other.bind(("127.0.0.1", port + offset))
            return port
        except OSError:
            continue
    raise RuntimeError("no three free consecutive ports on 127.0.0.1")


def _stop(hub: subprocess.Popen) -> None:
    """Stop the Hub gracefully (it stops the servers and the proxy), then kill whatever it left behind."""
    try:
        family = psutil.Process(hub.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    if hub.poll() is None:
        hub.send_signal(signal.SIGTERM)
        try:
            hub.wait(timeout=60)
        except subprocess.TimeoutExpired:
            hub.kill()
            hub.wait(timeout=10)
    for process in family:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(family, timeout=10)


def _hub_env(state: Path, port: int, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("COURSE_", "XDG_", "JUPYTER"))}
    env.update(
        COURSE_HUB_STATE=str(state),
        COURSE_HUB_PORT=str(port),
        COURSE_MODE="fast",
        COURSE_OFFLINE="1",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def hub():
    """A class-setup Hub: ``(base_url, service_headers, log_path)``."""
    folder = Path(tempfile.mkdtemp(prefix="course-hub-test-"))
    state = folder / "hub"
    port = _free_port_block()
    token = secrets.token_hex(32)
    env = _hub_env(
        state,
        port,
        COURSE_HUB_TOKEN=token,
        COURSE_HUB_PASSWORD=CLASS_PASSWORD,
        COURSE_HUB_ADMIN_PASSWORD=ADMIN_PASSWORD,
        **({"COURSE_HUB_ALLOW_ROOT": "1"} if AS_ROOT else {}),
    )
    log_path = folder / "hub.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [JUPYTERHUB, "-f", str(CONFIG)], cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"token {token}"}
    try:
        deadline = time.monotonic() + START_S
        while True:
            assert process.poll() is None, log_path.read_text()[-3000:]
            try:
                if httpx.get(f"{base}/hub/api/", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the Hub did not answer in time"
            time.sleep(1)
        yield base, headers, log_path
    finally:
        _stop(process)
        log.close()
        leftovers = [p for p in psutil.process_iter(["cmdline"]) if str(folder) in " ".join(p.info["cmdline"] or [])]
        shutil.rmtree(folder, ignore_errors=True)
        assert not leftovers, f"processes left running: {leftovers}"


@contextlib.contextmanager
def _login(base: str, name: str, password: str) -> Iterator[tuple[httpx.Client, int]]:
    """A browser-like client that has posted the Hub's login form, and the status the form answered."""
    with httpx.Client(base_url=base, timeout=60) as client:
        form = client.get("/hub/login")
        assert form.status_code == 200, form.text
        xsrf = re.search(r'name="_xsrf"\s+value="([^"]+)"', form.text)
        fields = {"username": name, "password": password, **({"_xsrf": xsrf.group(1)} if xsrf else {})}
        yield client, client.post("/hub/login", data=fields).status_code


def test_a_wrong_password_is_refused(hub) -> None:
    base, _, _ = hub
    refused = {
        "wrong password": ("ines", "not-the-class-password"),
        "admin name with the class password": ("teacher", CLASS_PASSWORD),
        "learner with the admin password": ("ines", ADMIN_PASSWORD),
    }
    for case, (name, password) in refused.items():
        with _login(base, name, password) as (client, status):
            assert status == 403, case
            assert client.get("/hub/api/user").status_code == 403, f"{case}: the Hub knows this client"
            assert client.get("/hub/home", follow_redirects=False).status_code == 302, f"{case}: not logged in"
    with _login(base, "ines", CLASS_PASSWORD) as (client, status):  # the right one works (else refusals prove nothing)
        assert status == 302
        assert client.get("/hub/home", follow_redirects=False).status_code == 200
    with _login(base, "teacher", ADMIN_PASSWORD) as (client, status):
        assert status == 302
        assert client.get("/hub/admin", follow_redirects=False).status_code == 200


def test_one_learner_cannot_reach_another_learners_server(hub) -> None:
    base, headers, log = hub
    pair = ("omar", "lena")
    with httpx.Client(base_url=base, headers=headers, timeout=120) as admin:
        assert admin.post("/hub/api/users", json={"usernames": list(pair)}).status_code in (201, 409)
        for name in pair:
            assert admin.post(f"/hub/api/users/{name}/server").status_code in (201, 202)
        try:
            deadline = time.monotonic() + START_S
            while not all(admin.get(f"/hub/api/users/{n}").json()["servers"].get("", {}).get("ready") for n in pair):
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(1)
            with _login(base, "omar", CLASS_PASSWORD) as (omar, status):
                assert status == 302
                # a page starts the OAuth handshake with the learner's server, which then sets its own cookie
                own_page = omar.get("/user/omar/lab", follow_redirects=True)
                assert own_page.status_code == 200 and str(own_page.url).startswith(f"{base}/user/omar/")
                own = omar.get("/user/omar/api/contents/course/notebooks")
                assert own.status_code == 200 and own.json()["type"] == "directory", own.text[:500]
                other_page = omar.get("/user/lena/lab", follow_redirects=True)  # the Hub refuses the handshake
                assert other_page.status_code == 403, (other_page.status_code, other_page.url)
                other = omar.get("/user/lena/api/contents/course/notebooks", follow_redirects=True)
                assert other.status_code == 403 and '"directory"' not in other.text, other.text[:500]
        finally:
            for name in pair:
                admin.delete(f"/hub/api/users/{name}/server")


UNSAFE = {
    "no class password": ({}, "COURSE_HUB_PASSWORD"),
    "no admin password": ({"COURSE_HUB_PASSWORD": CLASS_PASSWORD}, "COURSE_HUB_ADMIN_PASSWORD"),
    "one password for both": (
        {"COURSE_HUB_PASSWORD": ADMIN_PASSWORD, "COURSE_HUB_ADMIN_PASSWORD": ADMIN_PASSWORD},
        "must differ",
    ),
    "short admin password": (
        {"COURSE_HUB_PASSWORD": CLASS_PASSWORD, "COURSE_HUB_ADMIN_PASSWORD": "short-admin"},
        "32 characters",
    ),
    "simple spawner as root" if AS_ROOT else "system spawner without root": (
        {
            "COURSE_HUB_PASSWORD": CLASS_PASSWORD,
            "COURSE_HUB_ADMIN_PASSWORD": ADMIN_PASSWORD,
            **({} if AS_ROOT else {"COURSE_HUB_SPAWNER": "system"}),
        },
        "as root" if AS_ROOT else "run the Hub as root",
    ),
}


@pytest.mark.parametrize(("settings", "says"), UNSAFE.values(), ids=UNSAFE.keys())
def test_the_hub_refuses_to_start_unsafely(tmp_path: Path, settings: dict, says: str) -> None:
    env = _hub_env(tmp_path / "hub", _free_port_block(), **settings)
    run = subprocess.run(
        [JUPYTERHUB, "-f", str(CONFIG)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 1, run.stdout[-2000:] + run.stderr[-2000:]
    assert "refusing to start" in run.stderr and says in run.stderr, run.stderr[-2000:]
    assert not (tmp_path / "hub" / "jupyterhub.sqlite").exists()  # it stopped before creating any state


def test_the_trial_setup_is_one_user_behind_its_switch(tmp_path: Path) -> None:
    """COURSE_HUB_TRIAL=1 loads (no class passwords needed) and allows one user; checked by the config loader."""
    code = (
        "import runpy, sys\n"
        "from traitlets.config import Config\n"
        "config = Config()\n"
        "runpy.run_path(sys.argv[1], init_globals={'get_config': lambda: config})\n"
        "print(sorted(config.Authenticator.allowed_users), config.JupyterHub.authenticator_class)\n"
    )
    env = _hub_env(tmp_path / "hub", 8000, COURSE_HUB_TRIAL="1")
    run = subprocess.run([sys.executable, "-c", code, str(CONFIG)], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["['learner']", "shared-password"]
    password = tmp_path / "hub" / "trial-password"
    assert password.stat().st_mode & 0o777 == 0o600 and len(password.read_text()) >= 12
    token = tmp_path / "hub" / "course-admin.token"
    assert token.stat().st_mode & 0o777 == 0o600


async def _start_servers(client: httpx.AsyncClient) -> None:
    response = await client.post("/hub/api/users", json={"usernames": list(USERS)})
    assert response.status_code in (201, 409), response.text
    started = await asyncio.gather(*(client.post(f"/hub/api/users/{name}/server") for name in USERS))
    assert all(r.status_code in (201, 202) for r in started), [r.text for r in started]
    deadline = time.monotonic() + START_S
    waiting = set(USERS)
    while waiting:
        assert time.monotonic() < deadline, f"servers not ready: {sorted(waiting)}"
        for name in sorted(waiting):
            model = (await client.get(f"/hub/api/users/{name}")).json()
            if model.get("servers", {}).get("", {}).get("ready"):
                waiting.discard(name)
        await asyncio.sleep(1)


async def _run_notebook(client: httpx.AsyncClient, ws_base: str, headers: dict, name: str) -> dict:
    """Run 00_setup in ``name``'s server; returns a summary (cells run, errors)."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    api = f"/user/{name}/api"
    content = (await client.get(f"{api}/contents/{NOTEBOOK}")).json()["content"]
    cells = [cell for cell in content["cells"] if cell["cell_type"] == "code"]
    session = await client.post(
        f"{api}/sessions", json={"path": NOTEBOOK, "type": "notebook", "name": "", "kernel": {"name": "python3"}}
    )
    assert session.status_code == 201, session.text
    kernel_id = session.json()["kernel"]["id"]
    socket_ = await websocket_connect(
        HTTPRequest(f"{ws_base}{api}/kernels/{kernel_id}/channels", headers=headers), max_message_size=2**28
    )
    errors: list[str] = []

    async def run(source: str) -> str:
        """Execute ``source`` on the kernel; returns its stdout, records any error in ``errors``."""
        msg_id = uuid.uuid4().hex
        header = {"msg_id": msg_id, "msg_type": "execute_request", "username": name, "session": msg_id}
        request = {
            "header": {**header, "version": "5.3"},
            "parent_header": {},
            "metadata": {},
            "content": {"code": source, "silent": False, "store_history": True, "allow_stdin": False},
            "channel": "shell",
            "buffers": [],
        }
        await socket_.write_message(json.dumps(request))
        stdout, replied, idle = [], False, False
        while not (replied and idle):  # the shell reply and iopub's last messages may come in either order
            raw = await asyncio.wait_for(socket_.read_message(), timeout=RUN_S)
            assert raw is not None, f"{name}: the kernel's websocket closed"
            if isinstance(raw, bytes):
                continue  # a binary frame (widget buffers): not a reply we wait for
            message = json.loads(raw)
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if message["msg_type"] == "stream" and message["content"]["name"] == "stdout":
                stdout.append(message["content"]["text"])
            if message["msg_type"] == "error":
                errors.append(f"{message['content']['ename']}: {message['content']['evalue']}")
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                idle = True
            if message["channel"] == "shell" and message["msg_type"] == "execute_reply":
                replied = True
                if message["content"]["status"] != "ok":
                    errors.append(f"cell failed: {source[:80]!r}")
        return "".join(stdout)

    try:
        for cell in cells:
            await run("".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"])
        # The kernel's peak memory (Linux reports KiB): what a per-learner memory limit must allow.
        peak_kib = await run("import resource\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
        cache = (await run("import os\nprint(os.environ.get('COURSE_CACHE_DIR', ''))")).strip()
        # A failing cell must be seen as one (else a clean run would prove nothing).
        before = len(errors)
        await run("raise RuntimeError('probe')")
        probe_seen = errors[before:] == ["RuntimeError: probe", "cell failed: \"raise RuntimeError('probe')\""]
        del errors[before:]
    finally:
        socket_.close()
        await client.delete(f"{api}/sessions/{session.json()['id']}")
    peak_mib = int(peak_kib.strip() or 0) // 1024
    return {
        "user": name,
        "cells": len(cells),
        "errors": errors,
        "peak_mib": peak_mib,
        "probe_seen": probe_seen,
        "cache": cache,
    }


async def _class(base: str, headers: dict) -> list[dict]:
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
        await _start_servers(client)
        ws_base = base.replace("http://", "ws://")
        return await asyncio.wait_for(
            asyncio.gather(*(_run_notebook(client, ws_base, headers, name) for name in USERS)), timeout=RUN_S
        )


def test_three_learners_run_notebook_00_at_once(hub) -> None:
    base, headers, log = hub
    me = httpx.get(f"{base}/hub/api/user", headers=headers, timeout=10)
    assert me.status_code == 200 and me.json()["kind"] == "service", me.text
    port = int(base.rsplit(":", 1)[1])
    listening = {
        conn.laddr.ip
        for conn in psutil.net_connections("tcp")
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port in (port, port + 1, port + 2)
    }
    assert listening == {"127.0.0.1"}, f"the Hub and proxy must listen on loopback only: {listening}"

    start = time.perf_counter()
    results = asyncio.run(_class(base, headers))
    seconds = time.perf_counter() - start
    assert [r["user"] for r in results] == list(USERS)
    for result in results:
        assert result["cells"] >= 5 and not result["errors"], (result, log.read_text()[-3000:])
        assert result["probe_seen"], f"{result['user']}: a failing cell went unnoticed"
    caches = [r["cache"] for r in results]  # each learner's own cache folder, in their own home
    assert len(set(caches)) == len(USERS) and all(f"/home/{r['user']}/" in r["cache"] for r in results), caches
    peaks = ", ".join(f"{r['user']} {r['peak_mib']} MiB" for r in results)
    print(f"3 servers started and notebook 00 run in each, at once, in {seconds:.0f} s; kernels' peak memory: {peaks}")
