"""Crawl benchmark: stacforge's crawler against pystac over HTTP and rustac on local disk.

A RapidAI4EO-shaped catalog is built from sample input twice: without sidecar indexes (so a
crawl walks every document) and with them (so the crawler reads each collection's Parquet
mirror instead). Both are served by :func:`common.serving` (``stacforge.serve`` plus
``--latency`` seconds per request, on 127.0.0.1) from a process of its own, so the server's CPU
does not share the client's event loop; it counts the HTTP bytes each way, headers included,
and its own CPU time. Measured over HTTP:

- ``stacforge``: ``crawl(url)``, no cache, no index;
- ``stacforge --cache``, then ``stacforge --cache, warm``: a re-crawl that revalidates every
  cached document;
- ``stacforge --cache --index``: the sidecar index written by ``crawl_into_index``, as
  ``stacforge crawl URL --cache DIR --index OUT`` does (the index writer in its own process);
- ``stacforge --cache --index, mirrors``: the same on the catalog that advertises mirrors;
- ``pystac get_items``: ``Catalog.from_file(url).get_items(recursive=True)``, the baseline;

and on local disk ``stacforge, local`` (``crawl(path)``) against ``rustac walk, local``. Every
run happens in its own process (see :func:`common.measure`) for a clean peak RSS. A run that
goes over ``--timeout-min`` is stopped and projected from its rate so far. From the project
root:

    .venv/bin/python benchmarks/bench_crawl.py --locations 1000 10000

writes ``benchmarks/results/crawl.json`` and ``crawl.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pystac
import rustac

from common import (
    GIB,
    MIB,
    Measured,
    Report,
    Server,
    Traffic,
    machine,
    markdown_table,
    measure,
    serving,
)
from stacforge.builder import build
from stacforge.crawl import CrawlOptions, CrawlReport, crawl
from stacforge.crawl.indexing import crawl_into_index
from stacforge.datasets.rapidai4eo.sample import write_sample

DATASET = "rapidai4eo"
ITEMS_PER_LOCATION = 3  # Planet Fusion, Sentinel-2 and label item
PROGRESS_EVERY = 1000  # documents (or items) between a run's progress reports
CONCURRENCY = CrawlOptions.concurrency


# -- measured runs (module level: each runs in a spawned process) ----------------------------


def crawl_stacforge(
    href: str, cache: str | None, index: str | None, report: Report
) -> dict[str, Any]:
    """stacforge's crawl of ``href``, through ``cache`` and into the sidecar ``index`` if given."""

    def progress(crawled: CrawlReport) -> None:
        if crawled.documents % PROGRESS_EVERY == 0:
            report("crawl", crawled.items)

    if index is None:
        result = crawl(href, cache=cache, progress=progress)
    else:
        result = crawl_into_index(href, index, cache=cache, progress=progress).report
    report("done", result.items)
    if not result.ok:
        raise RuntimeError(f"{len(result.failures)} documents failed, first {result.failures[0]}")
    return {
        "items": result.items,
        "documents": result.documents,
        "requests": result.requests,
        "not_modified": result.not_modified,
        "bytes_downloaded": result.bytes_downloaded,
        "mirrors": result.mirrors,
        "warnings": len(result.warnings),
    }


def get_items_pystac(href: str, report: Report) -> dict[str, Any]:
    """pystac's recursive ``get_items`` from the root catalog at ``href``."""
    catalog = pystac.Catalog.from_file(href)
    items = 0
    for items, _ in enumerate(catalog.get_items(recursive=True), start=1):
        if items % PROGRESS_EVERY == 0:
            report("items", items)
    report("done", items)
    return {"items": items}


def walk_rustac(path: str, report: Report) -> dict[str, Any]:
    """rustac's ``walk`` from the root catalog at ``path``; every item arrives as a dict."""

    async def walk() -> int:
        items = 0
        async for _, _, found in rustac.walk(await rustac.read(path)):
            items += len(found)
        return items

    items = asyncio.run(walk())
    report("done", items)
    return {"items": items}


def build_catalogs(root: Path, locations: int, report: Report) -> None:
    """Writes the sample input and builds ``root/walk`` (no sidecars) and ``root/mirrored``."""
    source = write_sample(root / "source", count=locations, seed=0)
    build(DATASET, source, root / "walk", index=False)
    report("walk", locations * ITEMS_PER_LOCATION)
    build(DATASET, source, root / "mirrored", index=True)
    report("mirrored", locations * ITEMS_PER_LOCATION)
    shutil.rmtree(source)


# -- running and summarising ------------------------------------------------------------------


@dataclass
class Run:
    """One measured run, as stored in the JSON results (see :class:`common.Measurement`)."""

    name: str
    locations: int
    repeat: int
    result: dict[str, Any] | None
    seconds: float | None
    user_seconds: float | None
    system_seconds: float | None
    elapsed: float
    peak_rss: int
    start_rss: int
    traffic: Traffic | None
    """What the server did during the run (HTTP runs)."""
    error: str | None = None

    @property
    def items(self) -> int | None:
        return self.result["items"] if self.result else None


@dataclass(frozen=True)
class Case:
    """A measured configuration: what to run, on which catalog, over HTTP or not."""

    name: str
    fn: Measured
    mirrored: bool = False
    http: bool = True
    cache: bool = False
    index: bool = False
    warm: bool = False
    """Re-crawl with the cache the previous case filled."""


CASES = (
    Case("stacforge", crawl_stacforge),
    Case("stacforge --cache", crawl_stacforge, cache=True),
    Case("stacforge --cache, warm", crawl_stacforge, cache=True, warm=True),
    Case("stacforge --cache --index", crawl_stacforge, cache=True, index=True),
    Case("stacforge --cache --index, mirrors", crawl_stacforge, True, cache=True, index=True),
    Case("pystac get_items", get_items_pystac),
    Case("stacforge, local", crawl_stacforge, http=False),
    Case("rustac walk, local", walk_rustac, http=False),
)
NAMES = [case.name for case in CASES]


def _steps(cases: Sequence[Case]) -> list[list[Case]]:
    """The cases grouped so that a warm case always follows the cold one it re-crawls."""
    steps: list[list[Case]] = []
    for case in cases:
        if case.warm and steps:
            steps[-1].append(case)
        else:
            steps.append([case])
    return steps


def bench(
    locations: int,
    *,
    names: Sequence[str],
    repeat: int,
    repeat_under: float,
    work: Path,
    latency: float,
    max_rss: int,
    timeout: float,
) -> list[Run]:
    """Builds the catalogs for ``locations``, serves them and runs every case ``repeat`` times.

    The order of the cases alternates between repeats, so slow drift of a shared machine hits
    all; a case is not repeated once a run failed or took longer than ``repeat_under`` seconds.
    """
    root = work / f"{DATASET}-{locations}"
    shutil.rmtree(root, ignore_errors=True)
    # In a child process: a child's peak RSS starts from its parent's RSS at the fork.
    built = measure(build_catalogs, root, locations, max_rss=max_rss, timeout=timeout)
    if built.error:
        raise RuntimeError(f"building the catalogs failed: {built.error}")
    steps = _steps([case for case in CASES if case.name in names])
    runs: list[Run] = []
    try:
        with serving(root, latency) as server:
            for r in range(repeat):
                for step in steps if r % 2 == 0 else steps[::-1]:
                    previous = [run for run in runs if run.name == step[0].name]
                    if previous and (previous[-1].error or previous[-1].elapsed > repeat_under):
                        continue
                    for case in step:
                        run = _run(case, locations, r, root, server, max_rss, timeout)
                        runs.append(run)
                        print(_describe(run), file=sys.stderr, flush=True)
                    shutil.rmtree(root / "cache", ignore_errors=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return runs


def _run(
    case: Case,
    locations: int,
    repeat: int,
    root: Path,
    server: Server,
    max_rss: int,
    timeout: float,
) -> Run:
    catalog = "mirrored" if case.mirrored else "walk"
    href = f"{server.url}/{catalog}/catalog.json" if case.http else str(root / catalog)
    if not case.http:
        href += "/catalog.json"
    args: tuple[Any, ...] = (href,)
    if case.fn is crawl_stacforge:
        if case.cache and not case.warm:
            shutil.rmtree(root / "cache", ignore_errors=True)
        index = root / "index"
        shutil.rmtree(index, ignore_errors=True)
        args += (str(root / "cache") if case.cache else None, str(index) if case.index else None)
    before = server.traffic()
    m = measure(case.fn, *args, max_rss=max_rss, timeout=timeout)
    traffic = server.traffic() - before
    shutil.rmtree(root / "index", ignore_errors=True)
    if m.result is None and m.progress:  # stopped: keep how far it got, to extrapolate
        last = m.progress[-1]
        m.result = {"items": last.items, "stopped_at": last.seconds}
    return Run(
        name=case.name,
        locations=locations,
        repeat=repeat,
        result=m.result,
        seconds=m.seconds,
        user_seconds=m.user_seconds,
        system_seconds=m.system_seconds,
        elapsed=m.elapsed,
        peak_rss=m.peak_rss,
        start_rss=m.start_rss,
        traffic=traffic if case.http else None,
        error=m.error,
    )


def _describe(run: Run) -> str:
    head = f"{run.locations:>7,} locations  {run.name:<36} #{run.repeat}"
    if run.error or run.seconds is None:
        return f"{head}  {run.error} after {run.elapsed:.0f} s; peak {run.peak_rss / MIB:,.0f} MiB"
    traffic = run.traffic
    sent = (
        f"  {traffic.requests:,} requests, {traffic.bytes_sent / 1e6:.2f} MB sent, "
        f"server CPU {traffic.cpu_seconds:.2f} s"
        if traffic
        else ""
    )
    return (
        f"{head}  {run.seconds:7.2f} s  CPU {run.user_seconds or 0:6.2f} + "
        f"{run.system_seconds or 0:.2f} s  "
        f"{run.items:,} items  peak {run.peak_rss / MIB:,.0f} MiB{sent}"
    )


def summarize(runs: list[Run], latency: float) -> list[dict[str, Any]]:
    """Per number of locations: each case's medians, and the ratios the goals are about."""
    rows: list[dict[str, Any]] = []
    for locations in sorted({run.locations for run in runs}):
        items = locations * ITEMS_PER_LOCATION
        row: dict[str, Any] = {"locations": locations, "items": items, "cases": {}}
        for name in NAMES:
            if case_runs := [r for r in runs if r.locations == locations and r.name == name]:
                row["cases"][name] = _summarize_case(case_runs, items)
        cases = row["cases"]
        walk = cases.get("stacforge")
        if walk and "seconds" in walk:
            requests = walk["requests"]
            # Every request waits `latency`; `concurrency` of them wait at once.
            row["network_limit_seconds"] = requests * latency / CONCURRENCY
            row["pystac_network_limit_seconds"] = requests * latency
            if pystac_case := cases.get("pystac get_items"):
                row["speedup_vs_pystac"] = _seconds(pystac_case) / walk["seconds"]
                row["speedup_vs_pystac_measured"] = "seconds" in pystac_case
        cold, warm = cases.get("stacforge --cache"), cases.get("stacforge --cache, warm")
        if cold and warm and "traffic" in cold and "traffic" in warm:
            row["warm_bytes_share"] = _wire_bytes(warm) / _wire_bytes(cold)
            row["warm_body_bytes_share"] = warm["bytes_downloaded"] / cold["bytes_downloaded"]
        local, peer = cases.get("stacforge, local"), cases.get("rustac walk, local")
        if local and peer and "seconds" in local and "seconds" in peer:
            row["speedup_vs_rustac"] = peer["seconds"] / local["seconds"]
        rows.append(row)
    return rows


def _summarize_case(runs: list[Run], items: int) -> dict[str, Any]:
    """Medians over finished runs; for a stopped run, its rate so far projected to all items."""
    done = [r for r in runs if r.seconds is not None and r.result is not None]
    if not done:
        run = runs[0]
        got = run.result or {}
        summary: dict[str, Any] = {
            "stopped": run.error,
            "elapsed": run.elapsed,
            "peak_rss": run.peak_rss,
        }
        if got.get("items"):
            summary["items_done"] = got["items"]
            summary["projected_seconds"] = got["stopped_at"] * items / got["items"]
        return summary
    summary = {
        "runs": len(done),
        "seconds": statistics.median(r.seconds for r in done if r.seconds is not None),
        "user_seconds": statistics.median(r.user_seconds or 0.0 for r in done),
        "system_seconds": statistics.median(r.system_seconds or 0.0 for r in done),
        "peak_rss": max(r.peak_rss for r in done),
        "rss_growth": max(r.peak_rss - r.start_rss for r in done),
        "items": done[0].items,
    }
    for key in ("documents", "requests", "not_modified", "bytes_downloaded", "mirrors"):
        if done[0].result and key in done[0].result:
            summary[key] = done[0].result[key]
    if done[0].traffic is not None:
        summary["traffic"] = {
            key: statistics.median(asdict(r.traffic)[key] for r in done if r.traffic)
            for key in asdict(done[0].traffic)
        }
    return summary


def _wire_bytes(case: dict[str, Any]) -> float:
    """HTTP bytes both ways, headers included."""
    return float(case["traffic"]["bytes_sent"] + case["traffic"]["bytes_received"])


def _seconds(case: dict[str, Any]) -> float:
    """Measured seconds, or the projection of a stopped run."""
    return float(case["seconds"] if "seconds" in case else case["projected_seconds"])


def markdown(summary: list[dict[str, Any]], facts: dict[str, Any]) -> str:
    """The results as Markdown: the goals, then every case's figures."""
    goal_rows = []
    for row in summary:
        speedup = row.get("speedup_vs_pystac")
        goal_rows.append(
            [
                row["locations"],
                row["items"],
                "-"
                if speedup is None
                else f"{speedup:.0f}x" + ("" if row["speedup_vs_pystac_measured"] else " (proj.)"),
                _maybe(row.get("network_limit_seconds"), "{:.2f} s"),
                _maybe(row.get("warm_bytes_share"), "{:.2%}"),
                _maybe(row.get("speedup_vs_rustac"), "{:.1f}x"),
            ]
        )
    case_rows = []
    for row in summary:
        for name, case in row["cases"].items():
            if "seconds" not in case:
                projected = case.get("projected_seconds")
                wall = f"stopped at {case['elapsed']:,.0f} s after {case.get('items_done', 0):,}"
                wall += f" items; projected {projected:,.0f}" if projected else ""
                peak = _mib(case["peak_rss"])
                case_rows.append([row["locations"], name, wall, *["-"] * 4, peak, *["-"] * 5])
                continue
            traffic = case.get("traffic")
            case_rows.append(
                [
                    row["locations"],
                    name,
                    round(case["seconds"], 2),
                    round(case["user_seconds"], 2),
                    round(case["system_seconds"], 2),
                    round(traffic["cpu_seconds"], 2) if traffic else "-",
                    round(case["items"] / case["seconds"]),
                    _mib(case["peak_rss"]),
                    _mib(case["rss_growth"]),
                    round(traffic["requests"]) if traffic else "-",
                    case["not_modified"] if traffic and "not_modified" in case else "-",
                    round(_wire_bytes(case) / 1e6, 2) if traffic else "-",
                    case["runs"],
                ]
            )
    return "".join(
        [
            f"Measured {facts['date']} on {facts['cpu']} ({facts['cores']} cores, shared with "
            f"other work: load average {facts['load_average']} at the start, "
            f"{facts['load_average_end']} at the end), Python {facts['python']}, "
            f"pystac {facts['pystac']}, rustac {facts['rustac']}, commit {facts['commit']}; "
            f"{facts['latency'] * 1e3:.0f} ms added per request, crawl concurrency "
            f"{CONCURRENCY}.\n\n",
            markdown_table(
                [
                    "locations",
                    "items",
                    "stacforge / pystac (goal >= 50x)",
                    "network limit (requests x latency / concurrency)",
                    "warm / cold bytes (goal < 5%)",
                    "local: stacforge / rustac (goal > 1x)",
                ],
                goal_rows,
            ),
            "\n",
            markdown_table(
                [
                    "locations",
                    "run",
                    "wall s",
                    "user s",
                    "sys s",
                    "server CPU s",
                    "items/s",
                    "peak RSS MiB",
                    "RSS growth MiB",
                    "requests",
                    "304s",
                    "MB on the wire",
                    "runs",
                ],
                case_rows,
            ),
        ]
    )


def _maybe(value: float | None, spec: str, unit: float = 1.0) -> str:
    return "-" if value is None else spec.format(value / unit)


def _mib(size: int) -> int:
    return round(size / MIB)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--locations", type=int, nargs="+", default=[1000, 10_000], metavar="N")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case and size")
    parser.add_argument(
        "--repeat-under",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="repeat only cases whose previous run took less",
    )
    parser.add_argument("--cases", nargs="+", choices=NAMES, default=NAMES, metavar="CASE")
    parser.add_argument("--latency", type=float, default=0.020, help="seconds added per request")
    parser.add_argument("--work-dir", type=Path, default=Path(__file__).parent / ".data")
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).parent / "results" / "crawl",
        help="writes OUTPUT.json and OUTPUT.md",
    )
    parser.add_argument(
        "--max-rss-gib", type=float, default=8.0, help="stop a run whose RSS exceeds this"
    )
    parser.add_argument(
        "--timeout-min",
        type=float,
        default=30.0,
        help="stop a run that takes longer (a stopped pystac run is extrapolated)",
    )
    args = parser.parse_args(argv)

    os.environ["NO_PROXY"] = "127.0.0.1"  # clients must reach the loopback server directly
    facts = {
        "date": datetime.date.today().isoformat(),
        **machine(),
        "pystac": pystac.__version__,
        "rustac": rustac.version(),
        "latency": args.latency,
        "concurrency": CONCURRENCY,
    }
    args.work_dir.mkdir(parents=True, exist_ok=True)
    # A folder of its own: other benchmarks may be using the work directory at the same time.
    work = Path(tempfile.mkdtemp(prefix="crawl-", dir=args.work_dir))
    runs: list[Run] = []
    try:
        for locations in args.locations:
            runs.extend(
                bench(
                    locations,
                    names=args.cases,
                    repeat=args.repeat,
                    repeat_under=args.repeat_under,
                    work=work,
                    latency=args.latency,
                    max_rss=int(args.max_rss_gib * GIB),
                    timeout=args.timeout_min * 60,
                )
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    facts["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    summary = summarize(runs, args.latency)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".json").write_text(
        json.dumps(
            {"machine": facts, "summary": summary, "runs": [asdict(r) for r in runs]}, indent=1
        )
        + "\n"
    )
    table = markdown(summary, facts)
    args.output.with_suffix(".md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
