"""A Dask cluster as a `concurrent.futures` executor: what `jndenc batch` spreads files over and `jndenc encode
--dask` spreads one file's shots over."""
from __future__ import annotations

import concurrent.futures as cf
from typing import Callable

from .errors import UserError


def dask_executor(address: str | None, n_local: int | None) -> tuple[cf.Executor, int, Callable[[], None]]:
    """A Dask client on ``address``, or on a LocalCluster of ``n_local`` worker processes."""
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

    def close() -> None:
        client.close()
        if cluster is not None:
            cluster.close()

    return client.get_executor(pure=False), slots, close
