"""A Dask cluster as a `concurrent.futures` executor: what `jndenc batch` spreads files over and `jndenc encode
--dask` spreads one file's shots over."""
from __future__ import annotations

import concurrent.futures as cf
import time
from typing import Callable

from .errors import UserError
from .media.runner import kill_running


def dask_executor(address: str | None, n_local: int | None) -> tuple[cf.Executor, int, Callable[..., None]]:
    """A Dask client on ``address``, or on a LocalCluster of ``n_local`` worker processes; ``close(stop=True)``
    interrupts the encodes running on a LocalCluster (the cluster is ours). On another cluster's workers, which
    may run other clients' encodes, what runs finishes: a batch adopts such an output on its next run."""
    try:
        import distributed
    except ImportError:
        raise UserError("Dask is not installed: pip install 'jndenc[dask]'") from None
    import logging

    cluster = None
    try:
        if n_local:
            # processes=True and one thread per worker: encodes hold the GIL in
            # analysis, and a model per process is what predict mode wants
            cluster = distributed.LocalCluster(n_workers=n_local, threads_per_worker=1, processes=True,
                                               dashboard_address=None, silence_logs=logging.ERROR)
            client = distributed.Client(cluster)
        else:
            client = distributed.Client(address, timeout="20s")
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise UserError(f"cannot reach Dask scheduler {address}: {exc}") from None
    slots = max(1, sum(client.nthreads().values()))

    def close(stop: bool = False) -> None:
        if stop and cluster is not None:
            # closing the cluster ends its worker processes but not their FFmpeg children, which would run on
            # and leave their temp output behind; killed, each encode fails and removes its own temp file
            try:
                client.run(kill_running)
                time.sleep(1.0)  # the workers' encodes clean up before their processes go
            except Exception:  # noqa: BLE001 - a cluster already shutting down: nothing left to stop
                pass
        client.close()
        if cluster is not None:
            cluster.close()

    return client.get_executor(pure=False), slots, close
