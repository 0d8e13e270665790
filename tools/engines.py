"""Throwaway database engines: a PostgreSQL cluster and a Chroma server, for tests and benchmarks.

``engines()`` starts both on free ports on 127.0.0.1 inside one temporary directory, waits until
each answers, yields their URLs, and stops both and removes the directory however the block ends.
The command line runs one command between start and stop with the URLs in the environment
(``POLICYDESK_TEST_DATABASE_URL`` and ``POLICYDESK_TEST_CHROMA_URL``, which tests/conftest.py
reads)::

    python -m tools.engines --install -- python -m pytest -q tests/integration

PostgreSQL comes from Debian's ``postgresql`` package (``--install`` apt-gets it when no
``pg_ctl`` is there); ``initdb`` refuses to run as root, so as root the cluster runs as the
``postgres`` OS user the package creates. The cluster trusts every local connection and does not
sync to disk: it is for tests and measurements only, and its data goes with the directory.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
PG_OS_USER = "postgres"
CHROMA = Path(sys.executable).parent / "chroma"
DATABASE_ENV = "POLICYDESK_TEST_DATABASE_URL"
CHROMA_ENV = "POLICYDESK_TEST_CHROMA_URL"
# a cluster for tests: nothing has to survive a crash, so nothing waits for the disk
PG_TEST_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
)


class EngineStartError(RuntimeError):
    """An engine did not start, or did not answer in time; carries what it printed."""


@dataclass(frozen=True)
class EngineUrls:
    """Where the engines listen.

    Attributes:
        database_url: the cluster's ``postgres`` database as the ``postgres`` superuser.
        chroma_url: the Chroma server, ``http://127.0.0.1:PORT``.
    """

    database_url: str
    chroma_url: str

    def environment(self) -> dict[str, str]:
        """The variables tests/conftest.py reads to run on these engines."""
        return {DATABASE_ENV: self.database_url, CHROMA_ENV: self.chroma_url}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory, or None when there is none."""
    found = sorted(glob.glob(PG_BIN_GLOB), key=lambda p: int(Path(p).parent.name))
    return Path(found[-1]) if found and (Path(found[-1]) / "pg_ctl").exists() else None


def install_postgres() -> Path:
    """Debian's ``postgresql`` package when no ``pg_ctl`` is installed (needs root).

    Returns:
        The bin directory with ``initdb`` and ``pg_ctl``.
    """
    found = postgres_bin()
    if found is not None:
        return found
    subprocess.run(["apt-get", "update"], check=True)
    subprocess.run(
        ["apt-get", "install", "-y", "postgresql"],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    found = postgres_bin()
    if found is None:
        raise EngineStartError("apt-get installed postgresql but no pg_ctl is under " + PG_BIN_GLOB)
    return found


def _as_cluster_owner(command: list[str]) -> list[str]:
    return ["runuser", "-u", PG_OS_USER, "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise EngineStartError(f"{what} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


@dataclass(frozen=True)
class PostgresServer:
    """A running throwaway cluster: where it listens, and how to restart it."""

    url: str
    pg_ctl: Path
    data: Path
    log: Path
    options: str

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every connection is cut, the server is back when this
        returns (a fault for the serving benchmark).

        Raises:
            EngineStartError: it did not come back.
        """
        _run(
            _as_cluster_owner(
                # the server's output to its log: a postmaster holding our pipes would keep this
                # call waiting for their end for as long as it runs
                [str(self.pg_ctl), "-D", str(self.data), "-l", str(self.log), "-m", "fast",
                 "-o", self.options, "-w", "-t", "60", "restart"]
            ),
            "pg_ctl restart",
        )  # fmt: skip


@contextmanager
def postgres_cluster(folder: Path, durable: bool = False) -> Iterator[str]:
    """A fresh PostgreSQL cluster in ``folder`` on a free port; yields its admin URL."""
    with postgres_server(folder, durable) as server:
        yield server.url


@contextmanager
def postgres_server(folder: Path, durable: bool = False) -> Iterator[PostgresServer]:
    """A fresh PostgreSQL cluster in ``folder`` on a free port, stopped on exit.

    Args:
        folder: created here; removed by the caller.
        durable: PostgreSQL's own defaults (every commit synced: what a deployment runs, for
            measurements) instead of the tests' no-sync options.
    """
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise EngineStartError(f"PostgreSQL is not installed (no {PG_BIN_GLOB}/pg_ctl)")
    data, log = folder / "data", folder / "server.log"
    folder.mkdir(parents=True)
    if os.geteuid() == 0:  # the cluster's owner must reach its folder inside ours
        folder.parent.chmod(0o711)
        shutil.chown(folder, PG_OS_USER)
    _run(
        _as_cluster_owner(
            [
                str(bin_dir / "initdb"),
                "--pgdata",
                str(data),
                "--username=postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ]
        ),
        "initdb",
    )
    port = free_port()
    tuning = "-c max_connections=300" if durable else PG_TEST_OPTIONS
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 {tuning}"
    _run(
        _as_cluster_owner(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(log),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ]
        ),
        "pg_ctl start",
    )
    try:
        yield PostgresServer(
            url=f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres",
            pg_ctl=bin_dir / "pg_ctl",
            data=data,
            log=log,
            options=options,
        )
    finally:
        subprocess.run(
            _as_cluster_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
            capture_output=True,
            check=False,
        )


@contextmanager
def chroma_server(folder: Path, timeout: float = 60.0) -> Iterator[str]:
    """``chroma run`` (the chromadb wheel's server) over ``folder`` on a free port; yields its URL
    once its heartbeat answers."""
    port = free_port()
    folder.mkdir(parents=True)
    log_path = folder.parent / "chroma.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(CHROMA), "run", "--path", str(folder), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                printed = log_path.read_text(errors="replace")
                raise EngineStartError(f"chroma run exited:\n{printed}")
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise EngineStartError(f"chroma run did not answer at {url} in {timeout:.0f} s")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def engines() -> Iterator[EngineUrls]:
    """A throwaway PostgreSQL cluster and Chroma server, both answering; stopped and deleted
    afterwards even when the block raises.

    Yields:
        Their URLs.

    Raises:
        EngineStartError: PostgreSQL is not installed, or an engine did not come up.
    """
    folder = Path(tempfile.mkdtemp(prefix="policydesk-engines-"))
    try:
        with (
            postgres_cluster(folder / "pg") as database_url,
            chroma_server(folder / "chroma") as chroma_url,
        ):
            yield EngineUrls(database_url=database_url, chroma_url=chroma_url)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Start the engines, run a command with their URLs in its environment, stop them.

    Returns:
        The command's exit status.
    """
    parser = argparse.ArgumentParser(prog="python -m tools.engines", description=__doc__)
    parser.add_argument(
        "--install", action="store_true", help="apt-get PostgreSQL first when it is missing"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ARGS...")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    if args.install:
        install_postgres()
    # a terminated run (CI's timeout, a killed make) still stops the engines and removes the dir
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    started = time.monotonic()
    with engines() as urls:
        print(f"engines: {urls.database_url}  {urls.chroma_url}", flush=True)
        status = subprocess.run(command, env={**os.environ, **urls.environment()}, check=False)
    print(f"engines: command exited {status.returncode} after {time.monotonic() - started:.0f} s")
    return status.returncode


if __name__ == "__main__":
    sys.exit(main())
