"""TLS between the search's driver (the Dask scheduler and client) and its workers.

A Dask scheduler runs whatever a connected client submits (functions travel pickled), so anyone
who can reach its port can run code as the user who started the search and read or alter its
results. Batch-system executors (``executor=slurm|pbs``) therefore use TLS with mutual
authentication by default: Dask's ``distributed.security.Security`` with one certificate for the
scheduler, the workers and the client, and ``CERT_REQUIRED`` on both sides (a peer without a
certificate signed by the CA fails the handshake).

* Temporary (default): a self-signed certificate made for this search
  (``Security.temporary()``: RSA 2048, valid one year), written as ``ca.pem``, ``cert.pem`` and
  ``key.pem`` (mode 0600) into a directory of mode 0700 on the shared file system (by default
  ``RUN_DIR/tls``), and deleted when the executor closes. The job script names the files
  (``--tls-ca-file``, ``--tls-cert``, ``--tls-key``); it never holds key material.
* The user's files: ``tls_ca_file``, ``tls_cert`` and ``tls_key`` (PEM; the key may be inside
  the certificate file). They are used for every role and never copied or deleted.

Dask's scheduler always runs an HTTP server; without a dashboard it serves only ``/health``
(:func:`scheduler_http`), on loopback (the executors pass ``127.0.0.1`` addresses).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import shutil
import socket
import stat
import tempfile
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Optional

from algebraic_nas.errors import ConfigError

log = logging.getLogger(__name__)

ROLES = ("client", "scheduler", "worker")
CA, CERT, KEY = "ca.pem", "cert.pem", "key.pem"


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable and writable by the user only (0600), from the moment
    the file exists (no window with a wider mode)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an existing file keeps its mode on open: tighten it too
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def private_directory(path: Optional[str | os.PathLike]) -> Path:
    """A new directory of mode 0700 for the temporary certificate: a fresh ``tls-*`` directory
    inside ``path`` (created 0700 when missing), or inside the current directory when ``None``."""
    parent = Path(path) if path else Path.cwd()
    parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="tls-", dir=parent))  # mkdtemp: mode 0700


def security_from_files(ca: str, cert: str, key: Optional[str]) -> Any:
    """``Security`` using these PEM files for every role, encryption required."""
    from distributed.security import Security

    fields = {"tls_ca_file": ca}
    for role in ROLES:
        fields[f"tls_{role}_cert"] = cert
        fields[f"tls_{role}_key"] = key
    return Security(require_encryption=True, **fields)


def temporary_security(directory: Path) -> Any:
    """A certificate made for this search, written into ``directory`` (0600 files), as a
    ``Security`` naming the files (so that dask-jobqueue puts paths, not PEM text, in the job
    script)."""
    from distributed.security import Security

    made = Security.temporary()  # one self-signed key/cert pair for all roles
    paths = {CA: made.tls_ca_file, CERT: made.tls_worker_cert, KEY: made.tls_worker_key}
    for name, text in paths.items():
        write_private(directory / name, text)
    return security_from_files(str(directory / CA), str(directory / CERT), str(directory / KEY))


def user_files(config: Any) -> Optional[tuple[str, str, Optional[str]]]:
    """``(ca, cert, key)`` of the user's certificate settings (``None``: none set); ConfigError
    naming the key for a missing file or an incomplete set; a warning for a key file that other
    users can read."""
    ca, cert, key = (getattr(config, k, None) for k in ("tls_ca_file", "tls_cert", "tls_key"))
    if not any((ca, cert, key)):
        return None
    if not (ca and cert):
        raise ConfigError("executor.tls_ca_file and executor.tls_cert: set both (and executor.tls_key unless the "
                          "certificate file holds the key), or none for a temporary certificate")
    for name, value in (("tls_ca_file", ca), ("tls_cert", cert), ("tls_key", key)):
        if value and not os.path.isfile(os.path.expanduser(value)):
            raise ConfigError(f"executor.{name}={value!r}: no such file")
    secret = os.path.expanduser(key or cert)
    if os.stat(secret).st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("executor.%s=%s can be read by other users: chmod 600 it", "tls_key" if key else "tls_cert", secret)
    return (os.path.expanduser(ca), os.path.expanduser(cert), os.path.expanduser(key) if key else None)


class SearchSecurity:
    """The TLS settings of one search's cluster: ``security`` (a ``Security``) and, for a
    temporary certificate, the directory holding it (removed by :meth:`close`)."""

    def __init__(self, config: Any) -> None:
        self.directory: Optional[Path] = None
        given = user_files(config)
        if given is not None:
            self.security = security_from_files(*given)
            self.origin = f"certificate {given[1]}"
        else:
            self.directory = private_directory(getattr(config, "tls_directory", None))
            self.security = temporary_security(self.directory)
            self.origin = f"temporary certificate in {self.directory}"

    def close(self) -> None:
        """Delete the temporary certificate (the user's files are left alone)."""
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None


def placeholder_security(config: Any) -> Any:
    """For a printed job script: the user's files, or where the driver will write the temporary
    certificate (``TLS_DIR``: a new directory inside ``executor.tls_directory`` or the run directory)."""
    given = user_files(config)
    if given is not None:
        return security_from_files(*given)
    where = os.path.join(getattr(config, "tls_directory", None) or "RUN_DIR", "tls-XXXX")
    return security_from_files(os.path.join(where, CA), os.path.join(where, CERT), os.path.join(where, KEY))


def client_security(address: str, config: Any) -> Any:
    """The ``security`` argument of a client connecting to an existing scheduler at ``address``:
    the user's files for ``tls://`` (ConfigError without them, unless Dask's own configuration
    ``distributed.comm.tls.*`` names them); ``None`` for other protocols, with a warning when
    a ``tcp://`` scheduler is reachable from other machines."""
    given = user_files(config)
    if address.startswith("tls://"):
        if given is not None:
            return security_from_files(*given)
        from distributed.security import Security

        security = Security()  # Dask's configuration (distributed.comm.tls.*)
        if not (security.tls_ca_file and security.tls_client_cert):
            raise ConfigError(f"executor.address={address}: a tls:// scheduler needs executor.tls_ca_file, "
                              "executor.tls_cert and executor.tls_key (the client's certificate)")
        return security
    if given is not None:
        raise ConfigError(f"executor.address={address}: certificates are set (executor.tls_*), but the address is not tls://")
    warn_if_exposed(address)
    return None


def _is_loopback(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


def warn_if_exposed(address: str) -> bool:
    """Log a warning (and return True) when ``address`` is a plain-TCP scheduler on an interface
    other than loopback: whoever reaches it can run code as the workers' user."""
    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port

    protocol, location = parse_address(address)
    if protocol != "tcp":
        return False
    host = parse_host_port(location)[0]
    if _is_loopback(host):
        return False
    log.warning("executor.address=%s is plain TCP on a non-loopback interface: anyone who can reach %s can submit "
                "code that the workers run as their user, and read or alter the search's results; use a tls:// "
                "scheduler with certificates (executor.tls_ca_file, tls_cert, tls_key)", address, location)
    return True


def scheduler_http(dashboard_port: Optional[int]) -> AbstractContextManager:
    """Dask configuration for a scheduler made inside it: without a dashboard, its HTTP server
    serves only ``/health`` (not the pages of worker logs, call stacks and tasks)."""
    import dask

    if dashboard_port is not None:
        return dask.config.set({})
    return dask.config.set({"distributed.scheduler.http.routes": ["distributed.http.health"]})
