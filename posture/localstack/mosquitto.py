"""A real Mosquitto broker as a child process: for `posture demo` and the tests (never a mocked broker).

`Mosquitto` writes a config of its own into a folder (a temporary one unless given), listens on a free
loopback port (and optionally a TLS port), and can be stopped, killed and started again on the same ports,
so that tests can take the broker away mid-run. Users go into a password file made with `mosquitto_passwd`,
access rules into an ACL file. `make_certificates` makes a throwaway CA and a server certificate for
127.0.0.1/localhost with the `openssl` command line tool.

Mosquitto started as root drops to the `mosquitto` user, which could not read a private temporary folder
(mode 0700) nor password hashes and a TLS key kept unreadable to others (mode 0600). Rather than widen those
modes, the config says `user root` when we are root: the broker only listens on loopback, lives as long as
its owner and reads files that owner made, so it gains no right its owner does not already have.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from posture.localstack.process import HOST, LocalServer, accepts_connections, free_port

__all__ = [
    "MOSQUITTO",
    "MOSQUITTO_PASSWD",
    "Mosquitto",
    "MosquittoError",
    "TlsFiles",
    "accepts_connections",
    "free_port",
    "make_certificates",
    "mosquitto_available",
]

log = logging.getLogger(__name__)

#: Debian's `mosquitto` package puts the broker here (not on a normal user's PATH).
MOSQUITTO: Final = Path("/usr/sbin/mosquitto")
MOSQUITTO_PASSWD: Final = Path("/usr/bin/mosquitto_passwd")


class MosquittoError(RuntimeError):
    """The local broker could not be set up or started; the message says why and what to install or check."""


def mosquitto_available(executable: Path = MOSQUITTO) -> bool:
    """True when the broker binary is installed (`apt-get install mosquitto`)."""
    return executable.is_file() and os.access(executable, os.X_OK)


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """PEM files: the CA that signs the certificate, and the certificate with its private key."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def _run(args: list[str], cwd: Path) -> None:
    try:
        subprocess.run(args, cwd=cwd, check=True, capture_output=True, timeout=60)
    except FileNotFoundError as exc:
        raise MosquittoError(f"{args[0]} is not installed; install it (apt-get install {args[0]})") from exc
    except subprocess.CalledProcessError as exc:
        stderr = exc.stderr.decode(errors="replace").strip()
        raise MosquittoError(f"{' '.join(args[:2])} failed: {stderr}") from exc


def make_certificates(folder: Path, *, name: str = "server", ca_name: str = "posture-test-ca") -> TlsFiles:
    """Make a CA and a certificate it signs for 127.0.0.1 and localhost (EC P-256, valid 2 days).

    Used for the broker's TLS listener, and called again with another `name` for a client certificate.
    A CA already in `folder` (`ca.crt`, `ca.key`) is reused, so server and client share it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    key_args = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca_file, ca_key = folder / "ca.crt", folder / "ca.key"
    if not ca_file.exists():
        _run(
            [
                *("openssl", "req", "-x509", *key_args, "-keyout", ca_key.name, "-out", ca_file.name),
                *("-days", "2", "-subj", f"/CN={ca_name}"),
                *("-addext", "basicConstraints=critical,CA:TRUE"),
                *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
            ],
            folder,
        )
    extensions = folder / f"{name}.ext"
    extensions.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth,clientAuth\n"
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n"
    )
    _run(
        [
            "openssl",
            "req",
            *key_args,
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            "-subj",
            f"/CN={name}",
        ],
        folder,
    )
    _run(
        [
            *("openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", ca_file.name, "-CAkey", ca_key.name),
            *("-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", extensions.name),
        ],
        folder,
    )
    return TlsFiles(ca_file=ca_file, cert_file=folder / f"{name}.crt", key_file=folder / f"{name}.key")


class Mosquitto(LocalServer):
    """A Mosquitto broker on loopback, as a context manager that starts it and finally stops it.

    Parameters
    ----------
    folder : Path, optional
        Where its config, password, ACL, persistence and log files go; a temporary folder (removed on exit)
        when None.
    users : mapping of user name to password, optional
        With users, anonymous clients are refused; without, anyone may connect.
    acl : str, optional
        The text of a Mosquitto ACL file (`user NAME` then `topic read|write|readwrite FILTER` lines).
    tls : TlsFiles, optional
        Adds a TLS listener on `tls_port` with this server certificate.
    require_client_certificate : bool
        The TLS listener refuses clients without a certificate signed by `tls.ca_file`.
    executable : Path
        The broker binary.

    Notes
    -----
    Persistence is on, so a broker stopped with `stop()` (SIGTERM) keeps the queued QoS 1 messages of
    persistent sessions across `start()`; `kill()` (SIGKILL) loses what was not saved yet, like a crash.
    """

    def __init__(
        self,
        folder: Path | None = None,
        *,
        users: Mapping[str, str] | None = None,
        acl: str | None = None,
        tls: TlsFiles | None = None,
        require_client_certificate: bool = False,
        executable: Path = MOSQUITTO,
    ) -> None:
        if not mosquitto_available(executable):
            raise MosquittoError(f"{executable} not found; install the broker (apt-get install mosquitto)")
        self._own_folder = folder is None
        self.folder = Path(tempfile.mkdtemp(prefix="posture-mosquitto-")) if folder is None else folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.executable = executable
        self.port = free_port()
        self.tls_port: int | None = free_port() if tls is not None else None
        self._process: subprocess.Popen[bytes] | None = None
        self.config_file = self.folder / "mosquitto.conf"
        self.log_file = self.folder / "mosquitto.log"
        self._write_config(users, acl, tls, require_client_certificate)

    @property
    def url(self) -> str:
        return f"mqtt://{HOST}:{self.port}"

    @property
    def tls_url(self) -> str:
        if self.tls_port is None:
            raise MosquittoError("this broker has no TLS listener; pass tls=make_certificates(...)")
        return f"mqtts://localhost:{self.tls_port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _write_config(
        self, users: Mapping[str, str] | None, acl: str | None, tls: TlsFiles | None, require_cert: bool
    ) -> None:
        lines = [
            f"listener {self.port} {HOST}",
            "persistence true",
            f"persistence_location {self.folder}/",
            f"log_dest file {self.log_file}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            # PUBACKs are a few bytes: without this Nagle's algorithm can hold one back for a delayed ACK.
            "set_tcp_nodelay true",
            # A test subscriber that is away with a persistent session must not lose queued messages.
            "max_queued_messages 1000000",
        ]
        if os.geteuid() == 0:
            lines.append("user root")  # see the module docstring
        if users:
            password_file = self.folder / "passwords"
            password_file.touch(mode=0o600)
            for name, password in users.items():
                _run([str(MOSQUITTO_PASSWD), "-b", str(password_file), name, password], self.folder)
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        else:
            lines.append("allow_anonymous true")
        if acl is not None:
            acl_file = self.folder / "acl"
            acl_file.write_text(acl)
            lines.append(f"acl_file {acl_file}")
        if tls is not None:
            lines += [
                f"listener {self.tls_port} {HOST}",
                f"cafile {tls.ca_file}",
                f"certfile {tls.cert_file}",
                f"keyfile {tls.key_file}",
                f"require_certificate {'true' if require_cert else 'false'}",
            ]
        self.config_file.write_text("\n".join(lines) + "\n")

    def start(self, timeout_s: float = 10.0) -> None:
        """Start the broker (on the same ports as before) and wait until it accepts connections."""
        if self.running:
            return
        output = (self.folder / "mosquitto.out").open("ab")
        try:
            self._process = subprocess.Popen(
                [str(self.executable), "-c", str(self.config_file)], stdout=output, stderr=output
            )
        finally:
            output.close()
        deadline = time.monotonic() + timeout_s
        ports = [self.port] + ([self.tls_port] if self.tls_port is not None else [])
        while True:
            if self._process.poll() is not None:
                raise MosquittoError(
                    f"mosquitto exited with code {self._process.returncode} at start: {self.last_log_lines()}"
                )
            if all(accepts_connections(port) for port in ports):
                log.info(
                    "mosquitto listening on %s (pid %d, folder %s)", self.url, self._process.pid, self.folder
                )
                return
            if time.monotonic() > deadline:
                self.kill()
                raise MosquittoError(
                    f"mosquitto did not listen on {ports} within {timeout_s} s: {self.last_log_lines()}"
                )
            time.sleep(0.02)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the broker as a service manager would (SIGTERM: it saves its persistence file), or kill it."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("mosquitto did not stop within %s s; killing it", timeout_s)
            self.kill()

    def kill(self) -> None:
        """Kill the broker at once (SIGKILL), like a crash or a power cut."""
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def restart(self, timeout_s: float = 10.0) -> None:
        self.stop()
        self.start(timeout_s)

    def last_log_lines(self, count: int = 5) -> str:
        """The end of the broker's log and output, for error messages."""
        text = ""
        for path in (self.folder / "mosquitto.out", self.log_file):
            if path.exists():
                text += path.read_text(errors="replace")
        return " | ".join(text.strip().splitlines()[-count:]) or "(no log)"

    def close(self) -> None:
        """Stop the broker and remove the temporary folder it made."""
        self.stop()
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)
