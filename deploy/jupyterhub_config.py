"""JupyterHub for a class on one server: ``make hub`` (or ``jupyterhub -f deploy/jupyterhub_config.py``).

Tested by ``tests/test_hub.py``: three users log in at once through the Hub's REST API and each runs
notebook 00 in their own server. Everything listens on 127.0.0.1; put a TLS reverse proxy (nginx,
Caddy) in front of port 8000 to open it to a classroom network.

* Spawner: ``SimpleLocalProcessSpawner``: each learner's Jupyter server is a process of the user that
  runs the Hub, with its own home folder under the Hub's state folder, into which the course's
  notebooks are copied at the first start. Learners are not separated by the operating system; on a
  shared server use ``LocalProcessSpawner`` with real Unix accounts, or systemdspawner (below).
* Proxy: configurable-http-proxy's Python implementation from PyPI (``configurable-http-proxy`` 0.4,
  the ``configurable-http-proxy`` command in the virtual environment), so no Node.js is needed.
* Authenticator: ``DummyAuthenticator`` (any user name; the password from ``COURSE_HUB_PASSWORD`` if
  set). It is for a trial and for the test only: a class uses its school's login (OAuthenticator,
  LTI, LDAP) or NativeAuthenticator.
* Service ``course-admin``: its API token (``COURSE_HUB_TOKEN``) may create users, start and stop
  their servers and reach them: what the test and a teacher's scripts use.

Per-user limits: ``c.Spawner.mem_limit`` and ``c.Spawner.cpu_limit`` are only *enforced* by spawners
that implement them: systemdspawner (systemd cgroups: ``MemoryMax``, ``CPUQuota``) on one server, or
KubeSpawner on Kubernetes (deploy/z2jh/config.yaml). ``SimpleLocalProcessSpawner`` and
``LocalProcessSpawner`` ignore them (the values set below only reach the server as ``MEM_LIMIT`` and
``CPU_LIMIT`` environment variables, which JupyterLab's resource indicator can show). See
deploy/README.md for a systemdspawner configuration and how much memory a learner needs.

Settings from the environment: ``COURSE_HUB_STATE`` (database, cookie secret, homes; default
``build/hub``), ``COURSE_HUB_PORT`` (8000), ``COURSE_HUB_TOKEN`` (the service token; generated into the
state folder if unset), ``COURSE_HUB_PASSWORD``, and ``COURSE_FAST``, ``COURSE_MODE``,
``COURSE_OFFLINE``, ``COURSE_DATA_DIR``, ``COURSE_CACHE_DIR``, which the learners' kernels inherit.
"""

# ruff: noqa: F821 (JupyterHub's config loader defines get_config and c)

from __future__ import annotations

import os
import secrets
import shutil
import sys
from pathlib import Path

c = get_config()

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the course's virtual environment
STATE = Path(os.environ.get("COURSE_HUB_STATE", REPO / "build" / "hub")).resolve()
STATE.mkdir(parents=True, exist_ok=True)
PORT = int(os.environ.get("COURSE_HUB_PORT", "8000"))


def _service_token() -> str:
    token = os.environ.get("COURSE_HUB_TOKEN")
    if token:
        return token
    path = STATE / "course-admin.token"
    if not path.is_file():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


# --- network: loopback only -------------------------------------------------------------------------
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = PORT
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = PORT + 1
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{PORT + 2}"
c.ConfigurableHTTPProxy.command = [str(BIN / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")
c.Spawner.ip = "127.0.0.1"

# --- state ------------------------------------------------------------------------------------------
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True  # stopping the Hub stops every learner's server
c.JupyterHub.cleanup_proxy = True

# --- who may log in ---------------------------------------------------------------------------------
c.JupyterHub.authenticator_class = "dummy"
if os.environ.get("COURSE_HUB_PASSWORD"):
    c.DummyAuthenticator.password = os.environ["COURSE_HUB_PASSWORD"]
c.Authenticator.allow_all = True  # any name: a trial hub. A class lists its learners in allowed_users.
c.Authenticator.admin_users = {"teacher"}

c.JupyterHub.services = [{"name": "course-admin", "api_token": _service_token()}]
c.JupyterHub.load_roles = [
    {
        "name": "course-admin",
        "scopes": ["admin:users", "admin:servers", "access:servers", "read:users"],
        "services": ["course-admin"],
    }
]

# --- the learners' servers --------------------------------------------------------------------------
c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
c.SimpleLocalProcessSpawner.home_dir_template = str(STATE / "home" / "{username}")
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.args = ["--allow-root"] if os.geteuid() == 0 else []
c.Spawner.default_url = "/lab/tree/course/notebooks/00_setup.ipynb"
c.Spawner.http_timeout = 120  # a loaded server can take a while to answer the first time
c.Spawner.start_timeout = 180
c.Spawner.mem_limit = "4G"  # documented, not enforced by this spawner (see the docstring)
c.Spawner.cpu_limit = 1.0

_passed_on = ("COURSE_FAST", "COURSE_MODE", "COURSE_OFFLINE", "COURSE_DATA_DIR", "COURSE_CACHE_DIR", "KERAS_BACKEND")
c.Spawner.environment = {name: os.environ[name] for name in _passed_on if name in os.environ}
c.Spawner.environment.setdefault("COURSE_OFFLINE", "1")  # a class does not download data at lesson time
# Every learner reads the data cache of the account that runs the Hub (filled by `make install`).
c.Spawner.environment.setdefault("XDG_CACHE_HOME", os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache")))
c.Spawner.environment["TF_CPP_MIN_LOG_LEVEL"] = "2"


def copy_course(spawner) -> None:
    """Give a learner their own copy of the notebooks at the first start (later starts keep their work)."""
    home = Path(spawner.home_dir_template.format(username=spawner.user.name))
    target = home / "course" / "notebooks"
    if not target.is_dir():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(REPO / "notebooks", target, ignore=shutil.ignore_patterns("logs", ".ipynb_checkpoints"))


c.Spawner.pre_spawn_hook = copy_course
