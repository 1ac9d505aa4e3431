"""Shared benchmark helpers: isolated measured runs, output sizes, machine facts, result tables.

Every measured run happens in a fresh ``spawn`` subprocess so its peak RSS is its own: the
child reports ``ru_maxrss`` of itself and of the processes it started (stacforge's index
process), and the parent samples the RSS of the child and its processes, added up, while it
runs (for the memory trace, and to stop a run that would exhaust a shared machine). CPU times
include the processes the run started. :func:`serving` runs a
catalog server with added latency in a process of its own, for the HTTP baselines.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import multiprocessing
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import psutil

MIB = 1024**2
GIB = 1024**3

Report = Callable[[str, int], None]
"""``report(phase, items)``: a measured function says what it has done so far."""

Measured = Callable[..., Any]
"""A module-level function (picklable) called as ``fn(*args, report)``."""


@dataclass
class Progress:
    """One ``report`` call from the child, with the child's RSS at that moment."""

    phase: str
    seconds: float
    items: int
    rss: int


@dataclass
class Measurement:
    """What one isolated run did, how long it took and how much memory it held.

    Attributes:
        result: The measured function's return value (``None`` if the run did not finish).
        seconds: Wall time of the function call alone (no interpreter start or imports),
            measured by the child; ``None`` if the run did not finish.
        elapsed: Wall time from the call until the child finished or was stopped, measured by
            the parent (a lower bound on ``seconds`` for a stopped run).
        user_seconds: User CPU time of the call (``None`` if the run did not finish), its own
            and that of the processes it started (the index process, read pools); with
            ``system_seconds``, less sensitive than wall time to other work on a shared machine.
        system_seconds: System (kernel) CPU time of the call: file system work, mostly.
        peak_rss: Peak resident set size of the child process and the processes it started,
            added up (sampled), or of the child alone (exact) if that is larger, in bytes.
        process_peak_rss: Peak RSS of the child process alone (``ru_maxrss``).
        helper_peak_rss: The largest peak RSS of a process the child started and waited for
            (``ru_maxrss`` of its children), 0 if none.
        start_rss: RSS just before the call (interpreter plus imports), in bytes.
        progress: The child's ``report`` calls, in order.
        trace: ``(seconds since the child started, rss)`` samples taken by the parent.
        error: Why the run did not finish (an exception, or the RSS or time limit).
    """

    result: Any = None
    seconds: float | None = None
    elapsed: float = 0.0
    user_seconds: float | None = None
    system_seconds: float | None = None
    peak_rss: int = 0
    process_peak_rss: int = 0
    helper_peak_rss: int = 0
    start_rss: int = 0
    progress: list[Progress] = field(default_factory=list)
    trace: list[tuple[float, int]] = field(default_factory=list)
    error: str | None = None


def measure(
    fn: Measured,
    *args: Any,
    max_rss: int,
    timeout: float,
    interval: float = 0.25,
) -> Measurement:
    """Runs ``fn(*args, report)`` in a fresh process and measures it.

    Args:
        fn: A module-level function; it receives a ``report`` callable as its last argument.
        args: Picklable arguments.
        max_rss: Kill the child once its RSS exceeds this many bytes.
        timeout: Kill the child after this many seconds.
        interval: Seconds between the parent's RSS samples.
    """
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_run_child, args=(fn, args, sender), daemon=True)
    child.start()
    sender.close()  # the parent only reads, so EOF arrives when the child exits
    try:
        measurement = _watch(child, receiver, max_rss, timeout, interval)
    finally:
        if child.is_alive():  # stopped by a limit, or the parent is being interrupted
            child.kill()
        child.join()
        receiver.close()
    if measurement.error is None and measurement.seconds is None:
        measurement.error = f"child exited with code {child.exitcode}"
    return measurement


def _watch(
    child: BaseProcess, receiver: Connection, max_rss: int, timeout: float, interval: float
) -> Measurement:
    """Collects the child's messages and RSS samples until it exits or goes over a limit."""
    process = psutil.Process(child.pid)
    measurement = Measurement()
    started = called = time.perf_counter()
    while True:
        try:
            if receiver.poll(interval):
                message = receiver.recv()
                if message[0] == "start":
                    called = time.perf_counter()
                _receive(message, measurement)
        except EOFError:
            break
        try:
            rss = process.memory_info().rss
        except psutil.NoSuchProcess:
            continue  # exited: drain what it sent, then EOF
        rss += _descendants_rss(process)
        now = time.perf_counter()
        measurement.trace.append((now - started, rss))
        measurement.peak_rss = max(measurement.peak_rss, rss)
        if rss > max_rss:
            measurement.error = (
                f"stopped at {rss / GIB:.1f} GiB RSS (limit {max_rss / GIB:.1f} GiB)"
            )
            break
        if now - called > timeout:
            measurement.error = f"stopped after {now - called:.0f} s (limit {timeout:.0f} s)"
            break
    measurement.elapsed = time.perf_counter() - called
    return measurement


def _descendants_rss(process: psutil.Process) -> int:
    """The RSS of the processes ``process`` started (and theirs), added up."""
    total = 0
    with contextlib.suppress(psutil.Error):
        for child in process.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
    return total


def _run_child(fn: Measured, args: tuple[Any, ...], sender: Connection) -> None:
    """Child side of :func:`measure`: calls ``fn`` and sends back timings and ``ru_maxrss``."""
    me = psutil.Process()
    sender.send(("start", me.memory_info().rss))
    before = resource.getrusage(resource.RUSAGE_SELF)
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()

    def report(phase: str, items: int) -> None:
        sender.send(("progress", phase, time.perf_counter() - started, items, me.memory_info().rss))

    try:
        result = fn(*args, report)
    except Exception as error:
        sender.send(("error", f"{type(error).__name__}: {error}"))
        raise
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    user = after.ru_utime - before.ru_utime + children.ru_utime - before_children.ru_utime
    system = after.ru_stime - before.ru_stime + children.ru_stime - before_children.ru_stime
    # ru_maxrss is in KiB on Linux: the exact peak, which sampling could miss.
    peaks = (after.ru_maxrss * 1024, children.ru_maxrss * 1024)
    sender.send(("done", seconds, user, system, peaks, result))
    sender.close()


def _receive(message: tuple[Any, ...], measurement: Measurement) -> None:
    kind, *payload = message
    if kind == "start":
        measurement.start_rss = payload[0]
    elif kind == "progress":
        measurement.progress.append(Progress(*payload))
    elif kind == "error":
        measurement.error = payload[0]
    else:
        measurement.seconds, measurement.user_seconds, measurement.system_seconds = payload[:3]
        (own, helper), measurement.result = payload[3:]
        measurement.process_peak_rss, measurement.helper_peak_rss = own, helper
        measurement.peak_rss = max(measurement.peak_rss, own)


def _serve(directory: str, latency: float, counters: Any, sender: Connection) -> None:
    """Serves ``directory`` on a free port of 127.0.0.1, sending the port, until killed.

    ``counters`` (shared ``[requests, bytes received, bytes sent]``) counts HTTP bytes as they
    are on the wire: request line and headers in; status line, headers and body out.
    """
    # Imported here, in the server's process: measured children import this module too, and
    # aiohttp would otherwise be preloaded into their "cold" runs.
    from aiohttp import web

    from stacforge.serve import create_app

    @web.middleware
    async def add_latency(request: Any, handler: Callable[[Any], Any]) -> Any:
        await asyncio.sleep(latency)
        return await handler(request)

    async def count(request: Any, response: Any) -> None:
        # Called once the headers are final, right before they are written.
        version = f"HTTP/{request.version.major}.{request.version.minor}"
        received = len(f"{request.method} {request.raw_path} {version}\r\n\r\n")
        received += sum(len(name) + len(value) + 4 for name, value in request.raw_headers)
        sent = len(f"{version} {response.status} {response.reason}\r\n\r\n")
        sent += sum(len(name) + len(value) + 4 for name, value in response.headers.items())
        if response.status != 304 and request.method != "HEAD":
            sent += response.content_length or 0
        with counters.get_lock():
            counters[0] += 1
            counters[1] += received
            counters[2] += sent

    async def run() -> None:
        app = create_app(directory)
        app.middlewares.insert(0, add_latency)  # outermost: every request waits
        app.on_response_prepare.append(count)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, backlog=1024).start()
        sender.send(runner.addresses[0][1])
        await asyncio.Event().wait()

    asyncio.run(run())


@dataclass(frozen=True)
class Traffic:
    """What the server did: requests, HTTP bytes each way, and its CPU seconds."""

    requests: int
    bytes_received: int
    bytes_sent: int
    cpu_seconds: float

    def __sub__(self, other: Traffic) -> Traffic:
        return Traffic(
            self.requests - other.requests,
            self.bytes_received - other.bytes_received,
            self.bytes_sent - other.bytes_sent,
            self.cpu_seconds - other.cpu_seconds,
        )


@dataclass
class Server:
    """A running catalog server: its base URL, process and counters."""

    url: str
    process: psutil.Process
    counters: Any

    def traffic(self) -> Traffic:
        """The server's counts since it started."""
        cpu = self.process.cpu_times()
        with self.counters.get_lock():
            requests, received, sent = self.counters[:]
        return Traffic(requests, received, sent, cpu.user + cpu.system)


@contextlib.contextmanager
def serving(directory: Path, latency: float) -> Iterator[Server]:
    """Serves ``directory`` (``stacforge.serve``) from a process of its own on 127.0.0.1, every
    request delayed by ``latency`` seconds, so the server's CPU does not share the client's.

    Clients must reach it directly: set ``NO_PROXY=127.0.0.1`` if proxies are configured.
    """
    context = multiprocessing.get_context("spawn")
    counters = context.Array("q", 3)
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_serve, args=(str(directory), latency, counters, sender), daemon=True
    )
    process.start()
    sender.close()
    try:
        port = receiver.recv()
        assert process.pid is not None
        yield Server(f"http://127.0.0.1:{port}", psutil.Process(process.pid), counters)
    finally:
        process.kill()
        process.join()
        receiver.close()


def tree_size(root: Path) -> tuple[int, int]:
    """Total bytes and number of files below ``root`` (file sizes, not disk blocks)."""
    size = files = 0
    for folder, _, names in os.walk(root):
        for name in names:
            size += os.lstat(os.path.join(folder, name)).st_size
            files += 1
    return size, files


def machine() -> dict[str, Any]:
    """Facts about the machine and software a result was measured with."""
    cpu = platform.processor() or platform.machine()
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / GIB, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "commit": _git_commit(),
    }


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def answer(values: Iterable[str]) -> dict[str, Any]:
    """How many values and a digest of them as a sorted set: what answers are compared by."""
    unique = sorted(set(values))
    digest = hashlib.sha256("\n".join(unique).encode()).hexdigest()
    return {"count": len(unique), "digest": digest}


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table; numeric columns are right-aligned."""
    numeric = [
        all(isinstance(row[i], int | float) or row[i] == "-" for row in rows) and bool(rows)
        for i in range(len(header))
    ]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" if n else "---" for n in numeric) + "|",
    ]
    lines.extend("| " + " | ".join(_cell(value) for value in row) + " |" for row in rows)
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


class ProcessTree:
    """Samples this process and all its descendants (worker pools: ``ru_maxrss`` and the CPU
    times of a process leave them out) every ``interval`` seconds from a thread: the peak of
    their summed RSS, and the CPU time (user + system) each used, as last seen (a worker's last
    ``interval`` before it exits may be missed).

    Args:
        interval: Seconds between samples.
        descendants_only: Leave this process out (its own figures are measured apart).
    """

    def __init__(self, interval: float = 0.05, *, descendants_only: bool = False) -> None:
        self.peak = 0
        self._descendants_only = descendants_only
        self._cpu: dict[int, float] = {}
        self._before = 0.0
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def cpu_seconds(self) -> float:
        """CPU time of every process seen since entering (the sampling thread's included)."""
        return sum(self._cpu.values()) - self._before

    def __enter__(self) -> ProcessTree:
        self._sample(psutil.Process())
        self._before = self.cpu_seconds  # interpreter start and imports
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            self._sample(me)
            self._stop.wait(self._interval)
        self._sample(me)

    def _sample(self, me: psutil.Process) -> None:
        total = 0
        tree = me.children(recursive=True)
        for process in tree if self._descendants_only else [me, *tree]:
            with contextlib.suppress(psutil.Error), process.oneshot():
                total += process.memory_info().rss
                times = process.cpu_times()
                self._cpu[process.pid] = times.user + times.system
        self.peak = max(self.peak, total)
