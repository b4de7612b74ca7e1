"""TLS between driver and workers, nothing listening beyond loopback that need not, private run
directories: real Dask schedulers, workers and clients in this process (the batch-system runs
are in test_slurm.py)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import ssl
import stat

import pytest

from algebraic_nas.errors import ConfigError
from algebraic_nas.search.executors import private_run_dir
from algebraic_nas.search.executors.dask import _local_cluster
from algebraic_nas.search.executors.slurm import SlurmConfig, slurm_options, slurm_script
from algebraic_nas.search.executors.tls import (
    CA,
    CERT,
    KEY,
    SearchSecurity,
    client_security,
    scheduler_http,
    warn_if_exposed,
)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _square(x: int) -> int:
    return x * x


async def _scheduler_with_worker(security):
    from distributed import Scheduler, Worker

    s = await Scheduler(protocol="tls://", host="127.0.0.1", security=security, dashboard_address="127.0.0.1:0")
    w = await Worker(s.address, security=security, nthreads=1)
    return s, w


def _probe_without_certificate(host: str, port: int) -> str:
    """Speak TLS to ``host:port`` without a client certificate (and without checking the
    server's): "refused" when the server ends the connection, "accepted" if it talks."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=5) as raw, ctx.wrap_socket(raw) as tls:
            tls.sendall(b"\0" * 8)  # TLS 1.3: a missing client certificate is reported on the first read
            return "accepted" if tls.recv(1) else "refused"
    except (ssl.SSLError, ConnectionError):
        return "refused"


async def _connect(address, security, timeout=5):
    from distributed import Client

    async with Client(address, security=security, asynchronous=True, timeout=timeout) as c:
        return await c.submit(_square, 7)


def test_a_temporary_certificate_is_private_and_only_its_holders_get_in(tmp_path):
    from distributed.security import Security

    made = SearchSecurity(SlurmConfig(tls_directory=str(tmp_path)))
    d = made.directory
    assert d.parent == tmp_path and mode(d) == 0o700
    assert {p.name: mode(p) for p in d.iterdir()} == {CA: 0o600, CERT: 0o600, KEY: 0o600}
    assert "PRIVATE KEY" in (d / KEY).read_text()
    # every role names the files: no PEM text that dask-jobqueue would dump or a job script inline
    tls = made.security.get_tls_config_for_role("worker")
    assert tls["key"] == str(d / KEY) and "\n" not in "".join(v for v in tls.values() if v)

    async def scenario():
        s, w = await _scheduler_with_worker(made.security)
        try:
            assert s.address.startswith("tls://127.0.0.1:")
            assert await _connect(s.address, made.security) == 49  # the certificate's holder gets in
            refused = []
            with pytest.raises((OSError, TimeoutError)):  # a Dask client with a certificate of its own
                await _connect(s.address, Security.temporary(), timeout=3)
            refused.append("another certificate")
            host, port = s.address[len("tls://"):].rsplit(":", 1)
            assert await asyncio.to_thread(_probe_without_certificate, host, int(port)) == "refused"
            refused.append("no certificate")
            with pytest.raises((OSError, TimeoutError)):  # plain TCP to the TLS port
                await _connect(s.address.replace("tls://", "tcp://"), None, timeout=3)
            assert len(s.workers) == 1  # the worker is still there
            return refused
        finally:
            await w.close()
            await s.close()

    assert asyncio.run(scenario()) == ["another certificate", "no certificate"]
    made.close()
    assert not d.exists()


def test_the_job_script_names_the_certificate_files_and_holds_no_key(tmp_path):
    script = slurm_script(SlurmConfig(tls_directory="/shared/me/run"))
    line = next(x for x in script.splitlines() if "dask_worker" in x)
    assert " tls://SCHEDULER:8786 " in line and "--protocol tls://" in line
    for flag, name in [("--tls-ca-file", CA), ("--tls-cert", CERT), ("--tls-key", KEY)]:
        assert f"{flag} /shared/me/run/tls-XXXX/{name}" in line
    assert "BEGIN" not in script
    # the user's own files: named as they are
    for name in ("ca.pem", "me.pem", "me.key"):
        (tmp_path / name).write_text("x")
    (tmp_path / "me.key").chmod(0o600)
    own = slurm_script(SlurmConfig(tls_ca_file=str(tmp_path / "ca.pem"), tls_cert=str(tmp_path / "me.pem"),
                                   tls_key=str(tmp_path / "me.key")))
    assert f"--tls-key {tmp_path / 'me.key'}" in own and "tls-XXXX" not in own
    plain = slurm_script(SlurmConfig(tls=False))
    assert " tcp://SCHEDULER:8786 " in plain and "--tls" not in plain


def test_certificate_settings_are_checked_naming_the_key(tmp_path, caplog):
    with pytest.raises(ConfigError, match="executor.tls_cert=.*no such file"):
        SearchSecurity(SlurmConfig(tls_ca_file=__file__, tls_cert=str(tmp_path / "missing.pem")))
    with pytest.raises(ConfigError, match="executor.tls_ca_file and executor.tls_cert"):
        SearchSecurity(SlurmConfig(tls_key=__file__))
    key = tmp_path / "k.pem"
    key.write_text("x")
    key.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        made = SearchSecurity(SlurmConfig(tls_ca_file=__file__, tls_cert=__file__, tls_key=str(key)))
    assert "can be read by other users" in caplog.text and made.directory is None
    made.close()
    assert key.exists()  # the user's files are never deleted


def test_an_existing_scheduler_needs_certificates_for_tls_and_plain_tcp_elsewhere_is_warned_about(caplog):
    with pytest.raises(ConfigError, match="executor.tls_ca_file"):
        client_security("tls://10.0.0.7:8786", SlurmConfig())
    with pytest.raises(ConfigError, match="not tls://"):
        client_security("tcp://10.0.0.7:8786", SlurmConfig(tls_ca_file=__file__, tls_cert=__file__))
    with caplog.at_level(logging.WARNING):
        caplog.clear()
        assert not warn_if_exposed("tcp://127.0.0.1:8786") and not warn_if_exposed("tcp://localhost:8786")
        assert caplog.text == ""
        assert warn_if_exposed("tcp://10.0.0.7:8786") and warn_if_exposed("10.0.0.7:8786")
    assert "anyone who can reach 10.0.0.7:8786 can submit code" in caplog.text
    sec = client_security("tls://10.0.0.7:8786", SlurmConfig(tls_ca_file=__file__, tls_cert=__file__))
    assert sec.require_encryption and sec.tls_client_cert == __file__
    import dask  # or Dask's own configuration names them

    with dask.config.set({"distributed.comm.tls.ca-file": __file__, "distributed.comm.tls.client.cert": __file__}):
        assert client_security("tls://10.0.0.7:8786", SlurmConfig()).tls_client_cert == __file__


def _routes(server) -> set[str]:
    """The paths the HTTP server of a Dask server answers."""
    out: set[str] = set()

    def walk(rules) -> None:
        for rule in rules:
            if hasattr(rule.matcher, "_path"):
                out.add(rule.matcher._path)
            if hasattr(rule.target, "rules"):
                walk(rule.target.rules)

    walk(server.http_application.wildcard_router.rules)
    walk(server.http_application.default_router.rules)
    return out


def _listening(server) -> set[str]:
    """Hosts the HTTP server of a Dask server listens on."""
    return {sock.getsockname()[0] for sock in server.http_server._sockets.values()}


def test_a_local_cluster_listens_on_loopback_only_and_serves_no_dashboard_unless_asked():
    cluster = _local_cluster(1, [], memory_limit="auto", silence_logs=40)
    try:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        assert _listening(cluster.scheduler) == {"127.0.0.1"}
        assert _routes(cluster.scheduler) <= {"/health", "/sitemap.json"}  # no dashboard, no pages of logs or tasks
    finally:
        cluster.close()
    cluster = _local_cluster(0, [], memory_limit="auto", silence_logs=40, dashboard_port=0)
    try:
        assert cluster.dashboard_link.startswith("http://127.0.0.1:") and _listening(cluster.scheduler) == {"127.0.0.1"}
        assert "/status" in _routes(cluster.scheduler)
    finally:
        cluster.close()


def test_a_batch_cluster_listens_on_tls_only_and_its_http_server_on_loopback(tmp_path):
    from dask_jobqueue import SLURMCluster

    made = SearchSecurity(SlurmConfig(tls_directory=str(tmp_path)))
    options = {**slurm_options(SlurmConfig(log_directory=str(tmp_path / "jobs"))), "security": made.security,
               "protocol": "tls://"}
    with scheduler_http(None):
        cluster = SLURMCluster(**options)  # no job submitted: scale() is never called
    try:
        assert cluster.scheduler_address.startswith("tls://")
        assert _listening(cluster.scheduler) == {"127.0.0.1"} and _routes(cluster.scheduler) <= {"/health", "/sitemap.json"}
        assert "BEGIN" not in cluster.job_script() and f"--tls-key {made.directory / KEY}" in cluster.job_script()
    finally:
        cluster.close()
        made.close()


def test_a_new_run_directory_is_private_and_a_shared_one_keeps_its_mode(tmp_path, caplog):
    new = tmp_path / "a" / "run"
    ex = private_run_dir(new, {"kind": "slurm", "tls_directory": None})
    assert mode(new) == 0o700 and ex["tls_directory"] == str(new.resolve())
    made_by_hydra = tmp_path / "hydra"
    made_by_hydra.mkdir(mode=0o755)
    made_by_hydra.chmod(0o755)
    assert private_run_dir(made_by_hydra, {"kind": "local"}) == {"kind": "local"}  # no certificate there
    assert mode(made_by_hydra) == 0o700
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "runs.sqlite").write_text("")
    shared.chmod(0o750)  # its owner shared it with the group: a resume keeps that
    private_run_dir(shared, {"kind": "pbs", "tls_directory": "/elsewhere"})
    assert mode(shared) == 0o750
    assert private_run_dir(shared, {"kind": "pbs", "tls_directory": "/elsewhere"})["tls_directory"] == "/elsewhere"
    hydra = tmp_path / "with_log"
    (hydra / ".hydra").mkdir(parents=True)
    (hydra / "search.log").write_text("")
    hydra.chmod(0o755)
    private_run_dir(hydra, {"kind": "local"})
    assert mode(hydra) == 0o700  # what Hydra wrote a moment before the search
    mine = tmp_path / "home"  # run_dir=. in a directory the user already uses: never narrowed
    mine.mkdir()
    (mine / "notes.txt").write_text("")
    mine.chmod(0o755)
    with caplog.at_level(logging.WARNING):
        private_run_dir(mine, {"kind": "local"})
    assert mode(mine) == 0o755 and "stays readable by other users" in caplog.text


def test_executor_dask_connects_to_an_existing_tls_scheduler_with_the_users_certificate(tmp_path):
    from distributed import LocalCluster

    from algebraic_nas.search.executors import make_executor

    made = SearchSecurity(SlurmConfig(tls_directory=str(tmp_path)))
    files = {"tls_ca_file": str(made.directory / CA), "tls_cert": str(made.directory / CERT),
             "tls_key": str(made.directory / KEY)}
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tls://", host="127.0.0.1",
                      security=made.security, dashboard_address=None) as cluster:
        executor = make_executor("dask", n_workers=0, address=cluster.scheduler_address, **files)
        try:
            assert executor.slots == 1 and executor.client.submit(_square, 3).result() == 9
        finally:
            executor.close()
        with pytest.raises(ConfigError, match="tls_ca_file"):
            make_executor("dask", n_workers=0, address=cluster.scheduler_address)
    made.close()
