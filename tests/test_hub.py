"""JupyterHub on loopback (deploy/jupyterhub_config.py): three learners at once, each running notebook 00.

The Hub, its Python configurable-http-proxy and the learners' servers run as child processes on
127.0.0.1 with a state folder under pytest's tmp_path; everything is stopped at the end (the Hub stops
the servers and the proxy; any process still alive is then killed). Through the Hub's REST API and the
``course-admin`` service token from the config, the test creates three users, starts their servers at
once, and in each server opens a session on that learner's copy of notebooks/00_setup.ipynb (the
server's contents and sessions API) and runs its code cells on the session's kernel over the kernel's
websocket, the three notebooks simultaneously, in fast mode. Each must finish without an error.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "jupyterhub_config.py"
USERS = ("ada", "grace", "alan")
NOTEBOOK = "course/notebooks/00_setup.ipynb"
START_S = 180
RUN_S = 420

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


@pytest.fixture()
def hub(tmp_path: Path):
    port = _free_port_block()
    token = secrets.token_hex(32)
    env = dict(
        os.environ,
        COURSE_HUB_STATE=str(tmp_path / "hub"),
        COURSE_HUB_PORT=str(port),
        COURSE_HUB_TOKEN=token,
        COURSE_FAST="1",
        COURSE_OFFLINE="1",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    log = (tmp_path / "hub.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(CONFIG)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"token {token}"}
    try:
        deadline = time.monotonic() + START_S
        while True:
            assert process.poll() is None, (tmp_path / "hub.log").read_text()[-3000:]
            try:
                if httpx.get(f"{base}/hub/api/", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the Hub did not answer in time"
            time.sleep(1)
        yield base, headers, tmp_path / "hub.log"
    finally:
        _stop(process)
        log.close()
        leftovers = [p for p in psutil.process_iter(["cmdline"]) if str(tmp_path) in " ".join(p.info["cmdline"] or [])]
        assert not leftovers, f"processes left running: {leftovers}"


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
        # A failing cell must be seen as one (else a clean run would prove nothing).
        before = len(errors)
        await run("raise RuntimeError('probe')")
        probe_seen = errors[before:] == ["RuntimeError: probe", "cell failed: \"raise RuntimeError('probe')\""]
        del errors[before:]
    finally:
        socket_.close()
        await client.delete(f"{api}/sessions/{session.json()['id']}")
    peak_mib = int(peak_kib.strip() or 0) // 1024
    return {"user": name, "cells": len(cells), "errors": errors, "peak_mib": peak_mib, "probe_seen": probe_seen}


async def _class(base: str, headers: dict) -> list[dict]:
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
        await _start_servers(client)
        ws_base = base.replace("http://", "ws://")
        return await asyncio.wait_for(
            asyncio.gather(*(_run_notebook(client, ws_base, headers, name) for name in USERS)), timeout=RUN_S
        )


def test_three_learners_run_notebook_00_at_once(hub):
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
    peaks = ", ".join(f"{r['user']} {r['peak_mib']} MiB" for r in results)
    print(f"3 servers started and notebook 00 run in each, at once, in {seconds:.0f} s; kernels' peak memory: {peaks}")
