"""JupyterHub for a class on one server: ``make hub`` (or ``jupyterhub -f deploy/jupyterhub_config.py``).

Safe by default: the Hub refuses to start (exit status 1, a message saying what to set) unless the
setup it would run is one a class can use. Tested by ``tests/test_hub.py``. Everything listens on
127.0.0.1; put a TLS reverse proxy (nginx, Caddy) in front of port 8000 to open it to a classroom.

The class setup (the default)
    * Login: ``SharedPasswordAuthenticator`` (JupyterHub 5.3+): learners log in with any name (or a
      name from ``COURSE_HUB_USERS``) and the class password ``COURSE_HUB_PASSWORD`` (8 characters or
      more); the teacher (``COURSE_HUB_ADMIN``, default ``teacher``) logs in with a separate admin
      password ``COURSE_HUB_ADMIN_PASSWORD`` (32 characters or more, not the class password). Both must
      be set. A shared password lets any learner log in under any other learner's name: where learners
      must be protected from one another, use real accounts (OAuthenticator, LTI, NativeAuthenticator).
    * Spawner (``COURSE_HUB_SPAWNER``):

      ``simple`` (default): ``SimpleLocalProcessSpawner``. Each learner's server is a process of the
      account that runs the Hub, with its own home under the state folder. The Hub refuses to start
      as root with it (every learner's kernel would be root). The operating system does not separate
      learners: a learner's code runs as the Hub's account and could read the Hub's state folder
      (its database, cookie secret, service token). Fine for a lab of trusted learners on a dedicated
      account; not on a shared machine. ``COURSE_HUB_ALLOW_ROOT=1`` overrides the refusal where root
      is the only account (a test container); it prints a warning.

      ``system``: ``LocalProcessSpawner``, the spawner for a shared machine. Each learner is a Unix
      account of the same name (create them first: ``useradd --create-home ada``); their server runs
      as that account in its home, so the OS keeps learners apart and away from the Hub's files. The
      Hub runs as root (it switches to each account) and refuses to start otherwise. systemdspawner,
      which also enforces memory and CPU limits, is described in deploy/README.md.

The one-user trial setup (``COURSE_HUB_TRIAL=1``, an explicit switch)
    One learner, ``COURSE_HUB_TRIAL_USER`` (default ``learner``), on one's own machine or container,
    with the simple spawner (as root too, with ``--allow-root``, since a container often runs as
    root). The password is ``COURSE_HUB_PASSWORD`` or, if unset, one generated into
    ``<state>/trial-password`` (mode 0600) and printed when the Hub starts. No admin login.

Both setups
    * Proxy: configurable-http-proxy's Python implementation from PyPI (``configurable-http-proxy``
      0.4, the command in the virtual environment), so no Node.js is needed.
    * Service ``course-admin``: its API token (``COURSE_HUB_TOKEN``, or generated into
      ``<state>/course-admin.token`` with mode 0600) may create users, start and stop their servers
      and reach them: what the test and a teacher's scripts use.
    * Each learner has their own course cache (``COURSE_CACHE_DIR`` under their home: downloaded data,
      the trained course model), so no learner overwrites another's ``course_cnn.keras``. The data
      the Hub's account has cached (or ``COURSE_DATA_DIR``) is shared with them, read-only.

Per-user limits: ``c.Spawner.mem_limit`` and ``c.Spawner.cpu_limit`` are only *enforced* by spawners
that implement them: systemdspawner on one server, KubeSpawner on Kubernetes (deploy/z2jh/config.yaml).
The local-process spawners pass them on as ``MEM_LIMIT`` and ``CPU_LIMIT`` environment variables only.

Other settings from the environment: ``COURSE_HUB_STATE`` (database, cookie secret, token, homes;
default ``build/hub``), ``COURSE_HUB_PORT`` (8000; the Hub uses the next port, the proxy's API the one
after), and ``COURSE_MODE``, ``COURSE_OFFLINE``, ``COURSE_DATA_DIR``, ``KERAS_BACKEND``, which the
learners' kernels inherit.
"""

# ruff: noqa: F821 (JupyterHub's config loader defines get_config and c)

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import sys
from pathlib import Path

c = get_config()

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the course's virtual environment
STATE = Path(os.environ.get("COURSE_HUB_STATE", REPO / "build" / "hub")).resolve()
PORT = int(os.environ.get("COURSE_HUB_PORT", "8000"))
TRIAL = os.environ.get("COURSE_HUB_TRIAL", "").strip() == "1"
SPAWNER = os.environ.get("COURSE_HUB_SPAWNER", "simple").strip() or "simple"
AS_ROOT = os.geteuid() == 0
#: COURSE_HUB_ALLOW_ROOT=1: the class setup as root anyway, where root is the only account (a CI container).
ALLOW_ROOT = os.environ.get("COURSE_HUB_ALLOW_ROOT", "").strip() == "1"
CACHE_NAME = "large-models-hands-on"  # the folder name course_utils.data uses under a user's cache


def refuse(reason: str) -> None:
    """Stop the Hub before it starts: exit status 1 and one message saying what to do."""
    sys.stderr.write(f"deploy/jupyterhub_config.py: refusing to start: {reason}\n")
    raise SystemExit(1)


def private_file(path: Path, make: callable) -> str:
    """The stripped text of ``path``, created with ``make()`` and mode 0600 from the start if missing."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        path.chmod(0o600)  # an older file may have been readable by others
    else:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(make())
    return path.read_text().strip()


# --- is this a setup a class can use? ---------------------------------------------------------------
if SPAWNER not in ("simple", "system"):
    refuse(f"COURSE_HUB_SPAWNER={SPAWNER!r}: use simple or system (systemdspawner: see deploy/README.md)")
if TRIAL and SPAWNER != "simple":
    refuse("the trial setup (COURSE_HUB_TRIAL=1) uses the simple spawner: unset COURSE_HUB_SPAWNER")
if not TRIAL:
    if not os.environ.get("COURSE_HUB_PASSWORD"):
        refuse(
            "COURSE_HUB_PASSWORD (the class password, 8+ characters) is not set. Set it and "
            "COURSE_HUB_ADMIN_PASSWORD (the teacher's, 32+ characters), or try the Hub alone with COURSE_HUB_TRIAL=1"
        )
    if not os.environ.get("COURSE_HUB_ADMIN_PASSWORD"):
        refuse(
            "COURSE_HUB_ADMIN_PASSWORD (the teacher's password, 32+ characters, not the class password) is not "
            'set: python -c "import secrets; print(secrets.token_urlsafe(32))" makes one'
        )
    if len(os.environ["COURSE_HUB_PASSWORD"]) < 8:
        refuse("COURSE_HUB_PASSWORD must have 8 characters or more")
    if len(os.environ["COURSE_HUB_ADMIN_PASSWORD"]) < 32:
        refuse("COURSE_HUB_ADMIN_PASSWORD must have 32 characters or more")
    if os.environ["COURSE_HUB_ADMIN_PASSWORD"] == os.environ["COURSE_HUB_PASSWORD"]:
        refuse("COURSE_HUB_ADMIN_PASSWORD must differ from COURSE_HUB_PASSWORD")
    if SPAWNER == "simple" and AS_ROOT and not ALLOW_ROOT:
        refuse(
            "the simple spawner would run every learner's server as root. Run the Hub as an ordinary account, "
            "or use COURSE_HUB_SPAWNER=system (one Unix account per learner), or COURSE_HUB_TRIAL=1 for one user"
        )
    if SPAWNER == "system" and not AS_ROOT:
        refuse("COURSE_HUB_SPAWNER=system starts each learner's server as their Unix account: run the Hub as root")

STATE.mkdir(parents=True, exist_ok=True)
STATE.chmod(0o700)  # the database, cookie secret and token are the Hub's alone

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
c.JupyterHub.authenticator_class = "shared-password"
if TRIAL:
    trial_user = os.environ.get("COURSE_HUB_TRIAL_USER", "learner")
    password = os.environ.get("COURSE_HUB_PASSWORD") or private_file(
        STATE / "trial-password", lambda: secrets.token_urlsafe(12)
    )
    c.SharedPasswordAuthenticator.user_password = password
    c.Authenticator.allowed_users = {trial_user}
    if not os.environ.get("COURSE_HUB_PASSWORD"):
        print(f"trial Hub: log in as {trial_user!r} with the password in {STATE / 'trial-password'}", file=sys.stderr)
else:
    c.SharedPasswordAuthenticator.user_password = os.environ["COURSE_HUB_PASSWORD"]
    c.SharedPasswordAuthenticator.admin_password = os.environ["COURSE_HUB_ADMIN_PASSWORD"]
    c.Authenticator.admin_users = {os.environ.get("COURSE_HUB_ADMIN", "teacher")}
    learners = {name.strip() for name in os.environ.get("COURSE_HUB_USERS", "").split(",") if name.strip()}
    if learners:
        c.Authenticator.allowed_users = learners
    else:
        c.Authenticator.allow_all = True  # any name with the class password; COURSE_HUB_USERS lists the class

c.JupyterHub.services = [
    {
        "name": "course-admin",
        "api_token": os.environ.get("COURSE_HUB_TOKEN")
        or private_file(STATE / "course-admin.token", lambda: secrets.token_hex(32)),
    }
]
c.JupyterHub.load_roles = [
    {
        "name": "course-admin",
        "scopes": ["admin:users", "admin:servers", "access:servers", "read:users"],
        "services": ["course-admin"],
    }
]

# --- the learners' servers --------------------------------------------------------------------------
if SPAWNER == "simple":
    c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
    c.SimpleLocalProcessSpawner.home_dir_template = str(STATE / "home" / "{username}")
    c.Spawner.args = ["--allow-root"] if AS_ROOT else []  # as root only in the trial setup or by COURSE_HUB_ALLOW_ROOT
    if AS_ROOT and not TRIAL:
        print(
            "COURSE_HUB_ALLOW_ROOT=1: every learner's server runs as root; never on a shared machine", file=sys.stderr
        )
else:
    c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
    c.Spawner.notebook_dir = "~"
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab/tree/course/notebooks/00_setup.ipynb"
c.Spawner.http_timeout = 120  # a loaded server can take a while to answer the first time
c.Spawner.start_timeout = 180
c.Spawner.mem_limit = "4G"  # documented, not enforced by these spawners (see the docstring)
c.Spawner.cpu_limit = 1.0


def learner_home(spawner) -> Path:
    """The learner's home: under the state folder (simple spawner) or their Unix account's (system)."""
    if SPAWNER == "simple":
        return Path(spawner.home_dir_template.format(username=spawner.user.name))
    try:
        return Path(pwd.getpwnam(spawner.user.name).pw_dir)
    except KeyError:
        raise RuntimeError(
            f"no Unix account {spawner.user.name!r}: with COURSE_HUB_SPAWNER=system every learner needs one "
            f"(useradd --create-home {spawner.user.name})"
        ) from None


def hub_mnist() -> str | None:
    """The MNIST folder the Hub's account has (``COURSE_DATA_DIR`` or its cache), shared read-only."""
    if os.environ.get("COURSE_DATA_DIR"):
        return os.environ["COURSE_DATA_DIR"]
    from platformdirs import user_cache_dir

    cache = Path(os.environ.get("COURSE_CACHE_DIR") or user_cache_dir(CACHE_NAME)) / "mnist"
    return str(cache) if any(cache.glob("train-images*")) else None  # an empty folder would hide the subset


_passed_on = ("COURSE_MODE", "COURSE_OFFLINE", "KERAS_BACKEND")
c.Spawner.environment = {name: os.environ[name] for name in _passed_on if name in os.environ}
c.Spawner.environment.setdefault("COURSE_OFFLINE", "1")  # a class does not download data at lesson time
c.Spawner.environment["TF_CPP_MIN_LOG_LEVEL"] = "2"
# Each learner's own cache (data they download, the course model notebook 06 saves): never shared.
c.Spawner.environment["COURSE_CACHE_DIR"] = lambda spawner: str(learner_home(spawner) / ".cache" / CACHE_NAME)
if hub_mnist():
    c.Spawner.environment["COURSE_DATA_DIR"] = hub_mnist()


def copy_course(spawner) -> None:
    """Give a learner their own copy of the notebooks at the first start (later starts keep their work)."""
    home = learner_home(spawner)
    target = home / "course" / "notebooks"
    if not target.is_dir():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(REPO / "notebooks", target, ignore=shutil.ignore_patterns("logs", ".ipynb_checkpoints"))
        if SPAWNER == "system":  # the Hub is root here: hand the copy to the learner's account
            account = pwd.getpwnam(spawner.user.name)
            for folder, _, files in os.walk(home / "course"):
                for path in [folder, *(os.path.join(folder, name) for name in files)]:
                    os.chown(path, account.pw_uid, account.pw_gid)


c.Spawner.pre_spawn_hook = copy_course
