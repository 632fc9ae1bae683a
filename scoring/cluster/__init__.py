"""Scale-out on a Dask cluster: the same features, model and artifacts as the single process.

`connect` opens the cluster of `--cluster`: ``local`` (a `LocalCluster` sized to the machine: one
single-threaded worker process per core, the memory shared evenly), ``local:WxM`` (W workers of M
memory each, e.g. ``local:2x3GB``) or a scheduler address (``tcp://HOST:8786``). The workers must
run the same requirements and project code (checked on connection) and read the data and model
folders at the same paths as the client (a shared file system or the same image with the data).

Modules: `features` (partitioned tables -> a dask DataFrame of features), `training`
(`xgboost.dask`, out-of-fold threshold, artifacts), `batch` (scoring files partition by partition).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

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


@contextmanager
def connect(spec: str, *, timeout: float = 30.0) -> Iterator:
    """A `distributed.Client` on the cluster of `spec` (a LocalCluster is closed on exit)."""
    from distributed import Client, LocalCluster

    options = parse_spec(spec)
    cluster = None
    try:
        if options.get("local"):
            cluster = LocalCluster(n_workers=options["n_workers"], threads_per_worker=1, processes=True,
                                   memory_limit=options["memory_limit"], dashboard_address=":0")
            client = Client(cluster)
        else:
            client = Client(options["address"], timeout=timeout)
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise ClusterError(f"cannot reach the Dask scheduler at {spec}: {exc}") from exc
    try:
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
