"""What TLS costs per evaluation: round trips of a no-op task through a Dask scheduler in this
process (as the driver's is) to one worker process, over plain TCP and over TLS with the
temporary certificate the batch-system executors make (``search/executors/tls.py``).

A round trip is what the driver pays per evaluation on top of the evaluation itself: submit a
task carrying a payload the size of an ``EvaluationTask`` (2 kB), wait for its result. Both
clusters run side by side and are sampled in alternation, so that load on a shared CPU affects
both alike; the figure is the median over ``n`` round trips, and ``tls_extra_ms`` the
difference of the medians. Starting the cluster (the TLS handshakes of scheduler, worker and
client) is reported separately: it is paid once per search.

    python -m benchmarks tls            # 200 round trips each
    python -m benchmarks tls --quick    # 40 each
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Iterable


def _noop(payload: bytes) -> int:
    return len(payload)


def _cluster(security, protocol: str):
    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", protocol=protocol,
                           security=security, dashboard_address=None, silence_logs=logging.ERROR)
    client = Client(cluster)
    client.wait_for_workers(1)
    return cluster, client, time.perf_counter() - t0


def _round_trip(client, payload: bytes) -> float:
    t0 = time.perf_counter()
    client.submit(_noop, payload, pure=False).result()
    return time.perf_counter() - t0


def run(quick: bool = False) -> Iterable[dict]:
    from algebraic_nas.search.executors.slurm import SlurmConfig
    from algebraic_nas.search.executors.tls import SearchSecurity

    n = 40 if quick else 200
    logging.getLogger("distributed").setLevel(logging.WARNING)
    payload = b"x" * 2048
    with tempfile.TemporaryDirectory() as d:
        made = SearchSecurity(SlurmConfig(tls_directory=str(Path(d))))
        started = {}
        clusters = {}
        try:
            for name, security, protocol in [("tcp", None, "tcp://"), ("tls", made.security, "tls://")]:
                cluster, client, started[name] = _cluster(security, protocol)
                clusters[name] = (cluster, client)
            times: dict[str, list[float]] = {"tcp": [], "tls": []}
            for name in times:  # warm-up: first tasks pay for imports and connections
                for _ in range(5):
                    _round_trip(clusters[name][1], payload)
            for _ in range(n):
                for name in times:
                    times[name].append(_round_trip(clusters[name][1], payload))
        finally:
            for cluster, client in clusters.values():
                client.close()
                cluster.close()
            made.close()
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    settings = {"round_trips": n, "payload_bytes": len(payload), "workers": 1,
                "tcp_ms": round(med["tcp"], 3), "tls_ms": round(med["tls"], 3),
                "tcp_start_s": round(started["tcp"], 2), "tls_start_s": round(started["tls"], 2)}
    yield {"name": "tls.extra_ms_per_evaluation", "value": round(med["tls"] - med["tcp"], 3), "unit": "ms",
           "settings": settings}
