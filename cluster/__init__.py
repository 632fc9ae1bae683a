"""Scale-out on a Dask cluster: the same features, model and artifacts as the single process.

`connect` opens the cluster of `--cluster`: ``local`` (a `LocalCluster` sized to the machine: one
single-threaded worker process per core, the memory shared evenly), ``local:WxM`` (W workers of M
memory each, e.g. ``local:2x3GB``) or a scheduler address (``tcp://HOST:8786``). Batch scoring asks
for a local cluster *in process* instead (`connect(..., in_process=True)`): one worker thread per
worker of the spec inside the client's process, the memory added up. Its tasks read files, featurise
with pandas and score with XGBoost's lock-free `inplace_predict`; worker processes would each import
the project and load the model again and ship every result between processes, which made
`inference.py --cluster local` half as fast as the single process on 2 cores (docs/performance.md).
Training keeps worker processes (`xgboost.dask` needs one communicator per worker). The workers must
run the same requirements and project code (checked on connection) and read the data and model
folders at the same paths as the client (a shared file system or the same image with the data).

Modules: `features` (partitioned tables -> a dask DataFrame of features), `training`
(`xgboost.dask`, out-of-fold threshold, artifacts), `batch` (scoring files partition by partition).

Reproducible training: `xgboost.dask` builds each worker's share of the data from the partitions
that worker holds (quantile sketch, row sampling), so the model depends on where the partitions
are. `pin` places partition i on the i-th worker (in name order) modulo the number of workers, and
the LocalCluster this module starts runs without work stealing (which could move a task after it
was placed), so the same data, seed and number of workers give the same model.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

from scoring import config

log = logging.getLogger(__name__)

LOCAL_SPEC = re.compile(r"^local(?::(\d+)x(\d+(?:\.\d+)?\s*[KMGT]i?B))?$", re.IGNORECASE)


class ClusterError(RuntimeError):
    """The cluster cannot be reached or its workers cannot run the project's code."""


def parse_spec(spec: str) -> dict:
    """`--cluster` value -> {"local": True, "n_workers", "memory_limit"} or {"address"}."""
    spec = spec.strip()
    match = LOCAL_SPEC.match(spec)
    if match:
        if match.group(1):
            workers = int(match.group(1))
            if workers < 1:
                raise ValueError(f"--cluster {spec}: at least one worker")
            return {"local": True, "n_workers": workers, "memory_limit": match.group(2).replace(" ", "")}
        return {"local": True, "n_workers": os.cpu_count() or 1, "memory_limit": "auto"}
    if spec.startswith("local"):
        raise ValueError(f"--cluster {spec}: expected 'local' or 'local:WORKERSxMEMORY' such as local:2x3GB")
    if "://" not in spec and not re.match(r"^[\w.-]+:\d+$", spec):
        raise ValueError(f"--cluster {spec}: expected 'local', 'local:2x3GB' or a scheduler address "
                         "such as tcp://HOST:8786")
    return {"address": spec if "://" in spec else f"tcp://{spec}"}


def _project_importable() -> str:
    import scoring.features  # noqa: F401 - the check itself

    return scoring.features.__file__


def check_workers(client) -> None:
    """Every worker must import this project's code (same image, installed package or PYTHONPATH)."""
    try:
        client.run(_project_importable)
    except Exception as exc:  # noqa: BLE001 - an import or unpickling failure, raised on a worker
        raise ClusterError(
            f"a Dask worker cannot import the project's code ({exc}); start the workers from the project "
            "folder with the same requirements (e.g. PYTHONPATH=/path/to/project dask worker ...), or from "
            "the same image") from exc


def local_cluster(n_workers: int, memory_limit: str | int | None = "auto"):
    """A `LocalCluster` of single-threaded worker processes, without work stealing (see `pin`)."""
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.work-stealing": False}):  # read when the scheduler starts
        return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, memory_limit=memory_limit,
                            dashboard_address=":0")


def in_process_cluster(n_threads: int, memory_limit: str | int | None = "auto"):
    """A `LocalCluster` of one worker inside this process with `n_threads` threads (`memory_limit` in all)."""
    from distributed import LocalCluster

    return LocalCluster(n_workers=1, threads_per_worker=n_threads, processes=False, memory_limit=memory_limit,
                        dashboard_address=":0")


def _total_memory(n_workers: int, memory_limit: str) -> str | int:
    """`local:WxM`'s memory for one in-process worker: W x M ("auto" stays "auto")."""
    from dask.utils import parse_bytes

    return memory_limit if memory_limit == "auto" else n_workers * parse_bytes(memory_limit)


def worker_order(client) -> list[str]:
    """The workers' addresses ordered by worker name (LocalCluster: 0, 1, ...; `dask worker --name`)."""
    workers = client.scheduler_info(n_workers=-1)["workers"]
    return sorted(workers, key=lambda address: (str(workers[address].get("name", address)), address))


def pin(client, frame, workers: list[str]):
    """`frame`'s partitions computed and held in memory, partition i on ``workers[i % len(workers)]``.

    A placement that depends only on the partition order and the number of workers (a plain
    `persist` puts each partition wherever a thread is free first, which varies from run to run).
    The restriction is loose: if that worker is gone, another computes the partition.
    """
    import dask.dataframe as dd
    from dask.dataframe.utils import make_meta

    futures = [client.compute(part, workers=[workers[i % len(workers)]], allow_other_workers=True)
               for i, part in enumerate(frame.to_delayed())]
    return dd.from_delayed(futures, meta=make_meta(frame), verify_meta=False)


@contextmanager
def connect(spec: str, *, timeout: float | None = None, in_process: bool = False) -> Iterator:
    """A `distributed.Client` on the cluster of `spec` (a LocalCluster is closed on exit); a remote
    scheduler and its first worker are waited for `timeout` seconds (default `config.cluster_timeout()`).
    `in_process`: a local spec runs as threads of this process (`in_process_cluster`)."""
    from distributed import Client

    timeout = config.cluster_timeout() if timeout is None else timeout
    options = parse_spec(spec)
    cluster = None
    try:
        if options.get("local") and in_process:
            cluster = in_process_cluster(options["n_workers"],
                                         _total_memory(options["n_workers"], options["memory_limit"]))
            client = Client(cluster)
        elif options.get("local"):
            cluster = local_cluster(options["n_workers"], options["memory_limit"])
            client = Client(cluster)
        else:
            client = Client(options["address"], timeout=timeout)
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise ClusterError(f"cannot reach the Dask scheduler at {spec}: {exc}") from exc
    try:
        try:
            client.wait_for_workers(1, timeout=timeout)
        except TimeoutError as exc:
            raise ClusterError(f"no Dask worker joined the scheduler at {spec} within {timeout:.0f} s; start "
                               f"workers: dask worker {spec} --nthreads 1 --memory-limit 3GB") from exc
        workers = client.scheduler_info(n_workers=-1)["workers"]
        log.info("Dask cluster %s: %d workers, %s", spec, len(workers),
                 ", ".join(f"{w.get('nthreads')} thread(s)/{w.get('memory_limit', 0) / 1e9:.1f} GB"
                           for w in list(workers.values())[:4]))
        check_workers(client)
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
