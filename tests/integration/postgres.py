"""A throwaway PostgreSQL server for the tests: ``initdb`` and ``pg_ctl`` in a temporary folder,
listening on a free local port with password authentication, removed when stopped.

The server binaries come from the operating system's package (``apt-get install postgresql``
puts them in /usr/lib/postgresql/<version>/bin, off the PATH). ``initdb`` refuses to run as root,
so as root the server runs as the package's unprivileged ``postgres`` user (``runuser``).
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

USER = "anyshot"
PASSWORD = "pw-Xq7-never-printed"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be started here (the reason says why)."""


def find_binary(name: str) -> Path | None:
    """``name`` on the PATH, else in the newest /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name)
    if found:
        return Path(found)

    def version(path: str) -> int:
        match = re.search(r"/postgresql/(\d+)/", path)
        return int(match.group(1)) if match else 0

    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=version)
    return Path(candidates[-1]) if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    """A running server; :meth:`stop` ends it and removes its folder."""

    root: Path
    port: int
    pg_ctl: Path
    run_as: list[str] = field(default_factory=list)
    databases: int = 0

    def url(self, database: str = "postgres", password: str | None = PASSWORD) -> str:
        """SQLAlchemy URL of ``database`` (with ``password=None``, none in the URL)."""
        auth = USER if password is None else f"{USER}:{password}"
        return f"postgresql+psycopg://{auth}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; returns its name."""
        import psycopg

        self.databases += 1
        name = f"sweep_{self.databases}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user=USER, password=PASSWORD,
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def stop(self) -> None:
        subprocess.run([*self.run_as, str(self.pg_ctl), "-D", str(self.root / "data"), "-m",
                        "immediate", "-w", "stop"], capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def start_server() -> PostgresServer:
    """Start a server in a new temporary folder (user :data:`USER`, password :data:`PASSWORD`).

    Raises:
        PostgresUnavailable: no server binaries, no psycopg, no unprivileged user to run as
            root, or the server did not start (with the end of its log).
    """
    try:
        import psycopg  # noqa: F401 - the driver the sweeps connect with
    except ImportError as exc:
        raise PostgresUnavailable(f"the PostgreSQL driver is not installed ({exc}); "
                                  "pip install 'psycopg[binary]'") from exc
    initdb, pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise PostgresUnavailable("PostgreSQL server binaries (initdb, pg_ctl) not found; "
                                  "apt-get install postgresql")
    run_as: list[str] = []
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError as exc:
            raise PostgresUnavailable("running as root and there is no 'postgres' user to run "
                                      "the server as (initdb refuses root)") from exc
        runuser = shutil.which("runuser")
        if runuser is None:
            raise PostgresUnavailable("running as root without runuser to start the server as "
                                      "the 'postgres' user")
        run_as = [runuser, "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="anyshot-pg-"))
    pwfile = root / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if owner is not None:
        for path in (root, pwfile):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    try:
        init = subprocess.run(
            [*run_as, str(initdb), "-D", str(root / "data"), "-U", USER, "-E", "UTF8",
             "--auth=scram-sha-256", f"--pwfile={pwfile}", "--no-sync"],
            capture_output=True, text=True, check=False)
        if init.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {(init.stderr or init.stdout).strip()}")
        port = _free_port()
        # Durability is not wanted in a throwaway server; speed is.
        options = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        start = subprocess.run(
            [*run_as, str(pg_ctl), "-D", str(root / "data"), "-l", str(root / "log"), "-w",
             "-t", "60", "-o", options, "start"], capture_output=True, text=True, check=False)
        if start.returncode != 0:
            log = root / "log"
            tail = log.read_text()[-2000:] if log.is_file() else ""
            raise PostgresUnavailable(f"pg_ctl start failed: {start.stdout.strip()} "
                                      f"{start.stderr.strip()} {tail.strip()}")
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return PostgresServer(root=root, port=port, pg_ctl=pg_ctl, run_as=run_as)
