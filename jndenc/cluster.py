"""A Dask cluster as a `concurrent.futures` executor: what `jndenc batch` spreads files over and `jndenc encode
--dask` spreads one file's shots over."""
from __future__ import annotations

import asyncio
import concurrent.futures as cf
import time
from typing import Any, Callable

from .errors import UserError
from .media.runner import group_tasks, kill_running, stop_group

STOP_WAIT_S = 10.0  # how long a worker waits for a stopped run's tasks to leave (a killed FFmpeg ends at once)


class DaskExecutor(cf.Executor):
    """A Dask client as a `concurrent.futures` executor (tasks never shared with other clients), and the client
    kept: what a run started on the workers can be stopped there (`stop`)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._tasks = client.get_executor(pure=False)

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> cf.Future:
        return self._tasks.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._tasks.shutdown(wait=wait)

    def stop(self, run: str) -> None:
        """Stop the tasks that ran their FFmpeg processes in group ``run`` (`jndenc.media.runner.ffmpeg_group`) on
        every worker, and return once they left it (or each worker gave up waiting): cancelling a future only
        drops it, and the task running on a worker would go on for minutes, writing into the work folder."""
        try:
            self.client.run(_stop_here, run, STOP_WAIT_S)
        except Exception:  # noqa: BLE001 - a scheduler or worker gone already: nothing of the run left there
            pass


async def _stop_here(run: str, wait_s: float) -> int:
    """On a worker: stop group ``run``, then wait for its tasks to unwind (they remove their own segments); a
    coroutine, so that the wait leaves the worker's event loop free. Returns the tasks still in the group."""
    stop_group(run)
    deadline = time.monotonic() + wait_s
    while group_tasks(run) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return group_tasks(run)


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Raise `UserError` where nothing answers at a TCP scheduler ``address`` (``tcp://host:port`` or ``host:port``),
    before any work: found only when the work is handed out, an unreachable cluster failed an encode after its
    analysis and left a batch's folder with a journal of files marked pending. Other protocols (TLS, UCX) are
    left to the client's own connection."""
    import socket

    scheme, _, rest = address.rpartition("://")
    if scheme not in ("", "tcp"):
        return
    host, _, port = rest.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit():
        return  # no port to try: the client's own parsing says what is wrong
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise UserError(f"cannot reach Dask scheduler {address}: {exc.strerror or exc}") from None


def dask_executor(address: str | None, n_local: int | None) -> tuple[DaskExecutor, int, Callable[..., None]]:
    """A Dask client on ``address``, or on a LocalCluster of ``n_local`` worker processes; ``close(stop=True)``
    interrupts the encodes running on a LocalCluster (the cluster is ours). On another cluster's workers, which
    may run other clients' encodes, what runs finishes: a batch adopts such an output on its next run (an encode's
    shots, which have no such use, are stopped by `DaskExecutor.stop`)."""
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
    except ValueError as exc:  # "missing port number in address", an unknown scheme: the user's address
        if cluster is not None:
            cluster.close()
        raise UserError(f"--dask {address!r} is not a Dask scheduler address (tcp://HOST:PORT): {exc}") from None
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

    return DaskExecutor(client), slots, close
