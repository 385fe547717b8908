"""Real processes for the service tests: gunicorn, a throw-away PostgreSQL cluster, Redis.

Everything listens on 127.0.0.1 only, on free ports, and every ``start`` has a ``stop``
that the fixtures call in a finaliser, so nothing outlives the test session even when a
test fails half-way.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"


class ServiceUnavailable(RuntimeError):
    """A binary the services tests need is missing on this machine."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, interval: float = 0.1, what: str = "") -> float:
    """Poll ``predicate`` until it returns true; returns the seconds it took."""
    start = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what or predicate}")
        time.sleep(interval)


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return f"({path} does not exist)"


def _die_with_parent() -> None:
    """Runs in the child before exec: if the test process dies without cleaning up (killed,
    a CI timeout), the kernel sends the child SIGTERM instead of leaving it running."""
    try:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux/glibc: the fixtures' finalisers still stop the process


def spawn(command: list[str], *, env: Mapping[str, str], log_path: Path) -> subprocess.Popen:
    """Start a service process in its own process group (so it can be stopped with its
    children), output appended to ``log_path``, dying with the test run."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )


def _stop_process_group(process: subprocess.Popen, *, grace: float = 10.0) -> None:
    """SIGTERM the process and its children (own session), SIGKILL after ``grace``."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


# --- gunicorn --------------------------------------------------------------------------------


@functools.cache
def collected_static() -> Path:
    """``manage.py collectstatic`` in production mode, once per test run."""
    directory = Path(tempfile.mkdtemp(prefix="miv-static-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("MIV_")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "miv.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": LOOPBACK,
            "MIV_DATA_DIR": str(directory / "data"),
            "MIV_STATIC_ROOT": str(directory / "static"),
        }
    )
    run_manage("collectstatic", "--noinput", "-v", "0", env=env)
    return directory / "static"


def production_env(*, database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of MIV in production mode (DEBUG off, secrets set), on plain http.

    No broker unless ``extra`` names one (``CELERY_BROKER_URL``): the servers of these tests
    get a private Redis, so that no Celery worker of another test consumes their tasks.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        # The test run's own Django and service settings must not leak into the server.
        if not key.startswith(("DJANGO_", "DATABASE_", "CELERY_", "CACHE_", "MIV_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "miv.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": LOOPBACK,
            # Loopback speaks plain http; production behind a proxy would redirect to https.
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": database_url,
            "CACHE_URL": "locmemcache://",
            "MIV_DATA_DIR": str(data_dir),
            # As a deployment does: the pages' static files come from collectstatic's
            # manifest (a missing entry would turn every HTML page, error pages too, into 500).
            "MIV_STATIC_ROOT": str(collected_static()),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


@dataclass
class Gunicorn:
    """``gunicorn miv.wsgi`` with sync workers, started in its own process group."""

    env: Mapping[str, str]
    log_path: Path
    workers: int = 4
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, *, timeout: float = 60) -> Gunicorn:
        self.port = free_port()
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "miv.wsgi",
            "--bind",
            f"{LOOPBACK}:{self.port}",
            "--workers",
            str(self.workers),
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
            # gunicorn >= 24 opens a control socket in ~/.gunicorn by default; several
            # servers at once (and other test runs) would fight over it.
            "--no-control-socket",
        ]
        self.process = spawn(command, env=self.env, log_path=self.log_path)
        try:
            wait_until(self._answers, timeout=timeout, what=f"gunicorn on {self.url}")
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"gunicorn did not start:\n{tail(self.log_path)}") from None
        return self

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited early:\n{tail(self.log_path)}")
        try:
            httpx.get(f"{self.url}/healthz", timeout=2)
        except httpx.HTTPError:
            return False
        return True  # any HTTP answer (200 or 503) means the workers serve requests

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is not None:
            _stop_process_group(self.process)


# --- Celery worker ---------------------------------------------------------------------------


def process_group_members(pgid: int) -> list[int]:
    """The live processes of a process group (Linux ``/proc``), zombies excluded."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        # "pid (comm) state ppid pgrp ...": comm may hold spaces, so split after the ")".
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


@dataclass
class CeleryWorker:
    """``celery -A miv worker`` (prefork pool) in its own process group, so that ``kill``
    takes the main process and its pool children at once, as a crash of the machine would."""

    env: Mapping[str, str]
    log_path: Path
    concurrency: int = 1
    process: subprocess.Popen | None = None
    _log_offset: int = 0

    def start(self, *, timeout: float = 60) -> CeleryWorker:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "miv",
            "worker",
            "--loglevel",
            "INFO",
            "--pool",
            "prefork",
            "--concurrency",
            str(self.concurrency),
            "--hostname",
            f"miv-test-{secrets.token_hex(4)}@%h",
            # One worker per broker: no cluster chatter to wait for at start-up.
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.process = spawn(command, env=self.env, log_path=self.log_path)
        try:
            wait_until(self._ready, timeout=timeout, interval=0.2, what="celery worker ready")
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"celery worker did not start:\n{tail(self.log_path)}") from None
        return self

    def log(self) -> str:
        """What this worker (not an earlier one with the same log file) wrote."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._log_offset)
                return log.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"celery worker exited early:\n{tail(self.log_path)}")
        return " ready." in self.log()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def members(self) -> list[int]:
        """The worker's processes: the main process and its pool children."""
        return process_group_members(self.process.pid) if self.process else []

    def kill(self) -> list[int]:
        """``kill -9`` the whole process group, no warm shutdown; returns the pids killed."""
        assert self.process is not None
        victims = self.members()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        wait_until(
            lambda: not process_group_members(self.process.pid),
            timeout=10,
            what="the killed worker's children to be gone",
        )
        return victims

    def stop(self) -> None:
        if self.process is not None:
            _stop_process_group(self.process, grace=15)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its parent does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def children_of(pid: int) -> list[int]:
    """The live child processes of ``pid`` (Linux ``/proc``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


# --- PostgreSQL ------------------------------------------------------------------------------


def postgres_bin_dir() -> Path:
    """The PostgreSQL server binaries: CI's (``MIV_CI_PG_CTL``), Debian's, or on PATH."""
    candidates: list[Path] = []
    if os.environ.get("MIV_CI_PG_CTL"):
        candidates.append(Path(os.environ["MIV_CI_PG_CTL"]).parent)

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(p) for p in path.parent.name.split(".") if p.isdigit())

    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    if shutil.which("initdb"):
        candidates.append(Path(shutil.which("initdb")).parent)
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    raise ServiceUnavailable("PostgreSQL server binaries (initdb, pg_ctl) not found")


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its binaries as the ``postgres`` user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@dataclass
class PostgresCluster:
    """A throw-away cluster in a temporary directory, so a test may restart or stop it
    without touching the database the rest of the suite uses."""

    bin_dir: Path = field(default_factory=postgres_bin_dir)
    user: str = "miv"
    database: str = "miv"
    port: int = 0
    directory: Path | None = None
    # Durable (fsync, synchronous_commit and full_page_writes on, as in production) or fast
    # (all three off: for tests that never crash the cluster).
    durable: bool = False
    options: str = ""

    @property
    def data_dir(self) -> Path:
        assert self.directory is not None
        return self.directory / "data"

    @property
    def log_path(self) -> Path:
        assert self.directory is not None
        return self.directory / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgres://{quote(self.user)}@{LOOPBACK}:{self.port}/{quote(self.database)}"

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        result = subprocess.run(
            _as_postgres([str(self.bin_dir / args[0]), *args[1:]]),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}\n"
                f"{tail(self.log_path) if self.directory else ''}"
            )
        return result

    def start(self) -> PostgresCluster:
        self.directory = Path(tempfile.mkdtemp(prefix="miv-services-pg-"))
        if os.geteuid() == 0:
            postgres = pwd.getpwnam("postgres")
            os.chown(self.directory, postgres.pw_uid, postgres.pw_gid)
        self.port = free_port()
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            self.user,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        safety = (
            "-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
            if self.durable
            else "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self.options = options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses={LOOPBACK} "
            f"{safety} -c max_connections=60"
        )
        # -l always: without it the server would inherit pg_ctl's captured stdout and
        # subprocess.run would wait for it forever.
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_path),
            "-w",
            "-o",
            options,
            "start",
        )
        self._run("createdb", "-h", LOOPBACK, "-p", str(self.port), "-U", self.user, self.database)
        return self

    def restart(self, mode: str = "fast") -> None:
        """``pg_ctl restart -m fast``: ends every session, then starts again (same options)."""
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_path),
            "-m",
            mode,
            "-w",
            "restart",
        )

    def crash(self) -> list[int]:
        """``kill -9`` of the postmaster and every process it started, at once: no
        shutdown checkpoint, no goodbye to the clients. Returns the pids killed."""
        postmaster = int((self.data_dir / "postmaster.pid").read_text().split()[0])
        victims = [postmaster, *children_of(postmaster)]
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        wait_until(
            lambda: not any(_alive(pid) for pid in victims),
            timeout=20,
            what="the killed PostgreSQL processes to be gone",
        )
        # The postmaster was started by pg_ctl, so its parent is PID 1, which in a container
        # may never reap it: a zombie keeps its pid, and PostgreSQL would take the lock file
        # for a live server. The process is gone; so are its locks (data directory, socket).
        (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
        for name in (f".s.PGSQL.{self.port}.lock", f".s.PGSQL.{self.port}"):
            (self.directory / name).unlink(missing_ok=True)
        return victims

    def start_after_crash(self) -> None:
        """Start again on the same data directory: PostgreSQL replays its WAL (crash
        recovery) before it accepts connections."""
        self._run(
            "pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_path), "-w", "-o",
            self.options, "start",
        )  # fmt: skip

    def stop(self) -> None:
        if self.directory is None:
            return
        if (self.data_dir / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self._run(
                    "pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop", timeout=60
                )
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory = None


# --- Redis -----------------------------------------------------------------------------------


@dataclass
class RedisServer:
    """A private ``redis-server`` without persistence; ``stop``/``start`` keep the port."""

    port: int = 0
    directory: Path | None = None
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def start(self, *, timeout: float = 20) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceUnavailable("redis-server not found")
        if self.directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="miv-services-redis-"))
            self.port = free_port()
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                LOOPBACK,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                "--logfile",
                str(self.directory / "redis.log"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        wait_until(self.answers, timeout=timeout, what=f"redis on port {self.port}")
        return self

    def answers(self) -> bool:
        try:
            with socket.create_connection((LOOPBACK, self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is not None:
            _stop_process_group(self.process)
            self.process = None

    def remove(self) -> None:
        self.stop()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None


def run_manage(*args: str, env: Mapping[str, str], timeout: float = 300) -> str:
    """``manage.py ARGS`` in a subprocess (e.g. migrate a cluster); returns its stdout."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout
