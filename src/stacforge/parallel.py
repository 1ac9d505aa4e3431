"""Parallel reads: one function over many inputs in a process pool, results in input order.

Builders that read rasters, archives or big tables hand each file (or chunk) to
:func:`ordered_map`. Results come back in the order of the inputs, with a bounded number of
tasks in flight, so memory stays flat however many inputs there are; an :class:`InputError`
raised in a worker reaches the caller as the same one-line error.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def ordered_map(
    function: Callable[[T], R],
    inputs: Iterable[T],
    *,
    workers: int | None = None,
    in_flight: int | None = None,
) -> Iterator[R]:
    """Yields ``function(x)`` for each ``x`` of ``inputs``, in order, computed in ``workers``
    processes.

    Args:
        function: A module-level function (it is pickled by name); it should return small
            results (records, not pixels).
        inputs: Consumed lazily, at most ``in_flight`` ahead of what was yielded.
        workers: Processes to use (default: every core this process may use); 1 runs in this
            process, without a pool.
        in_flight: Tasks submitted but not yet yielded (default: four per worker).

    Raises:
        Whatever ``function`` raised for the first input that failed (an
        :class:`~stacforge.errors.InputError` keeps its message); later tasks are cancelled.
    """
    workers = workers or default_workers()
    if workers <= 1:
        yield from map(function, inputs)
        return
    limit = in_flight or 4 * workers
    # forkserver: workers do not inherit the parent's threads (GDAL, aiohttp) or its locks.
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: deque[Future[R]] = deque()
        try:
            for item in inputs:
                pending.append(pool.submit(function, item))
                if len(pending) >= limit:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def preload(*modules: str) -> None:
    """Has the worker processes of :func:`ordered_map` start with ``modules`` already imported.

    Workers fork from one server process per program (``forkserver``); the modules it imports
    when it starts are imported once, not again in every worker of every pool. A builder that
    maps each partition through a pool of its own calls this in its plan: a pool then starts in
    a fraction of a second instead of the seconds it takes each worker to import GDAL, HDF5 or
    PROJ bindings. Takes effect only if called before the first pool of the program starts
    (later calls change nothing), and the last call's list wins.

    Args:
        modules: Importable module names (e.g. the dataset package).
    """
    multiprocessing.get_context("forkserver").set_forkserver_preload(list(modules))
