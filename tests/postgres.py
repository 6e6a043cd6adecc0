"""A throwaway PostgreSQL server for the sweep's multi-machine test (Debian's postgresql
package; .ci/run installs it). The server runs as the `postgres` user when the tests run
as root, since PostgreSQL refuses to run as root."""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile


def server_binaries() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return os.path.dirname(found[-1]) if found else shutil.which("pg_ctl") and os.path.dirname(shutil.which("pg_ctl"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, bindir: str):
        self.bindir = bindir
        self.root = tempfile.mkdtemp(prefix="rnnlab-pg-", dir="/tmp")
        os.chmod(self.root, 0o755)
        self.data = os.path.join(self.root, "data")
        self.port = _free_port()
        self.user = None
        if os.geteuid() == 0:
            self.user = pwd.getpwnam("postgres")
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)

    def _run(self, *args):
        command = [os.path.join(self.bindir, args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", "postgres", "--"] + command
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> str:
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", "rnnlab")
        self._run("pg_ctl", "-D", self.data, "-w", "-l", os.path.join(self.root, "log"), "-o",
                  f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1", "start")
        return f"postgresql://rnnlab@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", self.data, "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
