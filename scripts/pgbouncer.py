"""PgBouncer in transaction mode in front of one PostgreSQL database, for the load test (scripts/loadtest.py) and the
test that the tenant context and the time zone hold through it (tests/crm/test_pgbouncer.py).

The configuration is generated under a directory of our own (var/ for the load test), PgBouncer runs in the
foreground as a child process on a loopback port (as `nobody` when we are root: PgBouncer refuses to run as root),
and is stopped by its pid. Clients log in as the app role only (`auth_type = any` with the role fixed on the
database line): this is a loopback tool for measuring, not a production configuration — production's
`auth_type`, `auth_file` and TLS belong to its operators (docs/scaling.md §3).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BINARY = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def available() -> bool:
    return Path(BINARY).exists()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_config(
    directory: Path,
    *,
    port: int,
    dbname: str,
    user: str,
    server_host: str = "127.0.0.1",
    server_port: int = 5432,
    pool_size: int = 10,
    max_clients: int = 200,
) -> Path:
    """Write pgbouncer.ini for `dbname` under `directory`; return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    config = directory / "pgbouncer.ini"
    config.write_text(
        "\n".join(
            [
                "[databases]",
                f"{dbname} = host={server_host} port={server_port} dbname={dbname} user={user}",
                "",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {port}",
                # Each client transaction gets a server connection for its duration only: session state (SET,
                # set_config(..., false), advisory session locks, prepared statements) would leak to other clients.
                "pool_mode = transaction",
                "auth_type = any",
                f"default_pool_size = {pool_size}",
                "min_pool_size = 0",
                f"max_client_conn = {max_clients}",
                # Psycopg and Django send none of these as startup options; listed so a client that does is not
                # refused.
                "ignore_startup_parameters = extra_float_digits,options",
                # Nothing to reset between clients in transaction mode: nothing per session is relied on.
                "server_reset_query =",
                "unix_socket_dir =",  # loopback TCP only
                "log_connections = 0",
                "log_disconnections = 0",
                "",
            ]
        )
    )
    config.chmod(0o644)
    return config


@contextmanager
def running(config: Path, port: int, *, timeout: float = 10.0) -> Iterator[subprocess.Popen]:
    """Run PgBouncer with `config` until the block ends; wait until it accepts connections."""
    command = [BINARY, str(config)]
    if os.geteuid() == 0:
        command += ["-u", "nobody"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"pgbouncer stopped: {process.stderr.read().decode(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
