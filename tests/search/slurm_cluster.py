"""A real single-node SLURM for the tests: munged, slurmctld and slurmd started in a temporary
directory, stopped (and every job cancelled) afterwards.

Everything lives under ``root``: the munge key and socket, ``slurm.conf`` (``proctrack/linuxproc``,
``task/none``, this machine's CPUs, ``select/cons_tres`` by core), the daemons' state, logs and
pid files; free TCP ports are chosen so that a SLURM already running here is not disturbed. The
client commands (``sbatch``, ``squeue``, ``scancel``) find the cluster through ``SLURM_CONF``
(:meth:`LocalSlurm.env`). The daemons run as root (CI runs as root on a Debian machine: Debian's
``slurm-wlm`` and ``munge`` packages); :func:`unavailable` says why not, when they cannot run.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Optional

DAEMONS = ("munged", "slurmctld", "slurmd")
# stand-ins for GPU device files (task/none: SLURM only hands out their indices)
PLACEHOLDER_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
CLIENTS = ("sbatch", "squeue", "scancel", "sinfo", "scontrol")


def unavailable() -> Optional[str]:
    """Why a local SLURM cannot be started here (``None``: it can)."""
    missing = [p for p in DAEMONS + CLIENTS if shutil.which(p) is None]
    if missing:
        return f"SLURM/munge not installed ({', '.join(missing)} missing: apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "starting slurmd needs root (CI runs as root)"
    return None


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _memory_mb() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    return 1024


class LocalSlurm:
    """One node (this machine) in one partition ``debug``, ``cpus`` CPUs (default: at least 2, the
    node's count when larger; ``config_overrides`` lets a small machine run more one-CPU jobs) and
    ``gpus`` GPU GRES: placeholder devices, no real GPU, but SLURM hands them out as on a GPU
    node (a job with ``--gres=gpu:N`` gets ``CUDA_VISIBLE_DEVICES`` with N indices)."""

    def __init__(self, root: Path, cpus: Optional[int] = None, gpus: int = 0) -> None:
        self.root = Path(root)
        self.cpus = cpus or max(2, os.cpu_count() or 1)
        if not 0 <= int(gpus) <= len(PLACEHOLDER_DEVICES):
            raise ValueError(f"gpus={gpus}: 0 to {len(PLACEHOLDER_DEVICES)} placeholder GPUs")
        self.gpus = int(gpus)
        self.node = socket.gethostname().split(".")[0]
        self.conf = self.root / "slurm.conf"
        self.munge_socket = self.root / "munge" / "munge.socket"
        self._procs: list[str] = []  # pid files of the daemons started

    def env(self) -> dict[str, str]:
        """Environment entries the SLURM client commands need."""
        return {"SLURM_CONF": str(self.conf)}

    def _write_files(self) -> None:
        munge = self.root / "munge"
        for d in (munge, self.root / "state", self.root / "spool", self.root / "log"):
            d.mkdir(parents=True, exist_ok=True)
            d.chmod(0o711 if d == munge else 0o700)  # munged: the socket directory must be searchable
        key = munge / "munge.key"
        key.write_bytes(os.urandom(128))
        key.chmod(0o600)
        ctld_port, d_port = _free_ports(2)
        r = self.root
        gres = f" Gres=gpu:{self.gpus}" if self.gpus else ""
        if self.gpus:  # read by slurmd next to slurm.conf; the files only need to exist
            (r / "gres.conf").write_text("AutoDetect=off\n" + "".join(
                f"Name=gpu File={PLACEHOLDER_DEVICES[i]} Count=1\n" for i in range(self.gpus)))
        self.conf.write_text(
            "\n".join([
                "ClusterName=algnastest",
                f"SlurmctldHost={self.node}(127.0.0.1)",  # no name resolution needed
                "SlurmUser=root",
                "SlurmdUser=root",
                f"SlurmctldPort={ctld_port}",
                f"SlurmdPort={d_port}",
                "AuthType=auth/munge",
                "CredType=cred/munge",
                f"AuthInfo=socket={self.munge_socket}",
                "ProctrackType=proctrack/linuxproc",
                "TaskPlugin=task/none",
                "JobAcctGatherType=jobacct_gather/none",
                "AccountingStorageType=accounting_storage/none",
                "JobCompType=jobcomp/none",
                "MpiDefault=none",
                "ReturnToService=2",
                "SchedulerType=sched/backfill",
                "SelectType=select/cons_tres",
                "SelectTypeParameters=CR_Core",
                "SlurmdParameters=config_overrides",
                # scancel/timeouts act quickly: kill signals then SIGKILL after KillWait seconds
                "KillWait=5",
                "MinJobAge=300",
                "InactiveLimit=0",
                "SchedulerParameters=sched_interval=1",
                f"StateSaveLocation={r / 'state'}",
                f"SlurmdSpoolDir={r / 'spool'}",
                f"SlurmctldPidFile={r / 'slurmctld.pid'}",
                f"SlurmdPidFile={r / 'slurmd.pid'}",
                f"SlurmctldLogFile={r / 'log' / 'slurmctld.log'}",
                f"SlurmdLogFile={r / 'log' / 'slurmd.log'}",
                "GresTypes=gpu",
                f"NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={_memory_mb()}{gres} State=UNKNOWN",
                "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
                "",
            ])
        )

    def _run(self, *cmd: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(list(cmd), env={**os.environ, **self.env()}, capture_output=True, text=True,
                              timeout=timeout)

    def start(self, timeout: float = 60.0) -> "LocalSlurm":
        """Start munged, slurmctld and slurmd; return once the node is idle (RuntimeError with the
        daemons' logs otherwise)."""
        self._write_files()
        m = self.root / "munge"
        out = self._run("munged", f"--socket={self.munge_socket}", f"--key-file={m / 'munge.key'}",
                        f"--pid-file={m / 'munged.pid'}", f"--log-file={m / 'munged.log'}",
                        f"--seed-file={m / 'munged.seed'}", "--force")
        if out.returncode:
            raise RuntimeError(f"munged did not start: {out.stderr.strip()}")
        self._procs.append(str(m / "munged.pid"))
        for daemon in ("slurmctld", "slurmd"):
            out = self._run(daemon, "-f", str(self.conf))
            if out.returncode:
                raise RuntimeError(f"{daemon} did not start: {out.stderr.strip()}\n{self.logs()}")
            self._procs.append(str(self.root / f"{daemon}.pid"))
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            out = self._run("sinfo", "-h", "-N", "-o", "%T")
            state = out.stdout.strip()
            if out.returncode == 0 and state in ("idle", "mixed", "allocated"):
                return self
            time.sleep(0.5)
        raise RuntimeError(f"the SLURM node did not become idle within {timeout:.0f} s (state {state!r})\n{self.logs()}")

    def jobs(self, states: str = "PENDING,RUNNING,CONFIGURING,COMPLETING") -> list[dict[str, str]]:
        """Jobs in ``states``: ``[{"id": ..., "name": ..., "state": ...}]``."""
        out = self._run("squeue", "-h", "-t", states, "-o", "%i|%j|%T")
        if out.returncode:
            raise RuntimeError(f"squeue failed: {out.stderr.strip()}")
        rows = [line.split("|") for line in out.stdout.splitlines() if line.strip()]
        return [{"id": r[0], "name": r[1], "state": r[2]} for r in rows]

    def batch_script(self, job_id: str) -> str:
        """The job script SLURM holds for ``job_id`` (``scontrol write batch_script``)."""
        out = self._run("scontrol", "write", "batch_script", str(job_id), "-")
        if out.returncode:
            raise RuntimeError(f"scontrol write batch_script {job_id} failed: {out.stderr.strip()}")
        return out.stdout

    def scancel(self, job_id: str) -> None:
        out = self._run("scancel", str(job_id))
        if out.returncode:
            raise RuntimeError(f"scancel {job_id} failed: {out.stderr.strip()}")

    def logs(self, tail: int = 30) -> str:
        parts = []
        for log in sorted((self.root / "log").glob("*.log")) + [self.root / "munge" / "munged.log"]:
            if log.exists():
                lines = log.read_text(errors="replace").splitlines()[-tail:]
                parts.append(f"--- {log.name}\n" + "\n".join(lines))
        return "\n".join(parts)

    def stop(self) -> None:
        """Cancel every job, then stop the daemons (slurmd, slurmctld, munged)."""
        try:
            self._run("scancel", "--full", "-u", "root", timeout=15)
        except (OSError, subprocess.SubprocessError):
            pass
        for pid_file in reversed(self._procs):
            try:
                pid = int(Path(pid_file).read_text().split()[0])
                os.kill(pid, signal.SIGTERM)
            except (OSError, ValueError, IndexError):
                continue
            for _ in range(50):
                try:
                    os.kill(pid, 0)
                except OSError:
                    break
                time.sleep(0.1)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        self._procs.clear()

    def __enter__(self) -> "LocalSlurm":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
