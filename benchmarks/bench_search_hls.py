"""Search benchmark on a second dataset: HLS crop chips, stacforge's sidecars against the
stac-geoparquet files read whole with GeoPandas.

A catalog of N chips is built once per size from the built-in sample (``stacforge sample
hls-crop --count N``, then ``stacforge build hls-crop``, sidecars included). Its indexes hold one
stac-geoparquet ``items.parquet`` per collection (``hls_crop_source``: one item per chip, its
18-band image; ``hls_crop_labels``: one item per chip, its crop mask with the pixel count of
each of 14 classes in ``label:overviews`` and a ``source`` link to the image item): the
consolidated files a user would otherwise query. Three queries, each run three ways:

- ``geopandas``: what a user writes on those files: ``geopandas.read_parquet`` of the
  collection's whole ``items.parquet`` (load included), the filter in pandas/shapely row by row
  (a class's share is its count over the total of the item's counts), hrefs resolved against
  each item's ``self`` link with ``os.path``.
- ``stacforge cold``: a new process: ``stacforge.open_index(catalog)`` and one search (imports
  timed apart).
- ``stacforge warm``: the index open, the search repeated (median).

Queries: ``box``, the image item ids of the chips in a box over the Corn Belt; ``corn``, the
label item ids with ``corn>=30%`` of their pixels; ``corn-images``, the image hrefs of the chips
whose mask is at least 10 % corn (label items matched by share, then their ``source`` items'
assets: the big answer). Every answer is checked against stacforge's (sorted sets, by digest).
Runs alternate their order; medians of ``--repeat`` runs. From the project root:

    .venv/bin/python benchmarks/bench_search_hls.py --chips 10000 100000

writes ``benchmarks/results/search-hls.json`` and ``search-hls.md``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from common import GIB, MIB, answer, machine, markdown_table, measure

DATASET = "hls-crop"
SOURCE = "hls_crop_source"
LABELS = "hls_crop_labels"
CORN_BELT = (-97.0, 38.0, -87.0, 45.0)
WARM_REPEAT = 20
WARM_SECONDS = 10.0


@dataclass(frozen=True)
class Query:
    """A query: stacforge's search parameters, what it returns and the baseline's inputs."""

    name: str
    title: str
    output: str
    """``ids`` or ``hrefs``."""
    params: dict[str, Any]


QUERIES = {
    query.name: query
    for query in (
        Query(
            "box",
            "Corn Belt box: image item ids",
            "ids",
            {"bbox": CORN_BELT, "collections": [SOURCE]},
        ),
        Query(
            "corn",
            "corn>=30%: label item ids",
            "ids",
            {"labels": "corn>=30%", "collections": [LABELS]},
        ),
        Query(
            "corn-images",
            "corn>=10%: image hrefs of those chips",
            "hrefs",
            {"labels": "corn>=10%", "collections": [SOURCE]},
        ),
    )
}
METHODS = ("geopandas", "stacforge cold", "stacforge warm")


# -- measured runs (module level: each runs in a spawned process) ----------------------------


def build_catalog(root: Path, chips: int) -> None:
    """``stacforge sample hls-crop`` of ``chips`` chips into ``root/source``, then ``stacforge
    build hls-crop`` into ``root/catalog`` (commands: the build starts worker processes, which
    a measured child may not)."""
    stacforge = str(Path(sys.executable).with_name("stacforge"))
    for command in (
        ["sample", DATASET, str(root / "source"), "--count", str(chips)],
        ["build", DATASET, str(root / "source"), str(root / "catalog")],
    ):
        subprocess.run([stacforge, *command], check=True, stdout=subprocess.DEVNULL)


def _search(index: Any, query: Query) -> list[str]:
    method = index.ids if query.output == "ids" else index.hrefs
    return list(method(**query.params))


def stacforge_cold(catalog: str, name: str, report: Any) -> dict[str, Any]:
    """A new process: imports, ``open_index(catalog)`` and one search."""
    started = time.perf_counter()
    import stacforge

    open_index = stacforge.open_index  # loads the search stack
    imported = time.perf_counter()
    found = _search(open_index(catalog), QUERIES[name])
    done = time.perf_counter()
    return {"imports": imported - started, "seconds": done - imported, **answer(found)}


def stacforge_warm(catalog: str, name: str, repeat: int, report: Any) -> dict[str, Any]:
    """One open index, the search once to warm up, then ``repeat`` times (at least 3, fewer
    once they took ``WARM_SECONDS``)."""
    import stacforge

    index = stacforge.open_index(catalog)
    query = QUERIES[name]
    found = _search(index, query)
    times: list[float] = []
    while len(times) < repeat and (len(times) < 3 or sum(times) < WARM_SECONDS):
        started = time.perf_counter()
        _search(index, query)
        times.append(time.perf_counter() - started)
    return {"seconds": statistics.median(times), "times": times, **answer(found)}


def geopandas_files(catalog: str, name: str, report: Any) -> dict[str, Any]:
    """The query on the collections' stac-geoparquet files, read whole with GeoPandas."""
    started = time.perf_counter()
    import geopandas as gpd
    import shapely

    imported = time.perf_counter()
    root = Path(catalog).resolve()

    def items(collection: str) -> Any:
        return gpd.read_parquet(root / collection / "index" / "items.parquet")

    def resolved(index_dir: Path, self_href: str, href: str) -> str:
        return os.path.normpath(index_dir / os.path.dirname(self_href) / href)

    def self_href(links: Any) -> str:
        return next(link["href"] for link in links if link["rel"] == "self")

    def share(overviews: Any, name: str) -> float | None:
        """The class's count over the total of the counts of its entry."""
        for overview in overviews if overviews is not None else ():
            counts = overview["counts"]
            total = sum(c["count"] or 0 for c in counts)
            for c in counts:
                if c["name"] == name and c["count"] is not None and total:
                    return float(c["count"] / total)
        return None

    def label_matches(threshold: float) -> Any:
        labels = items(LABELS)
        shares = labels["label:overviews"].map(lambda overviews: share(overviews, "corn"))
        return labels[shares >= threshold]

    if name == "box":
        source = items(SOURCE)
        found = list(source[source.intersects(shapely.box(*CORN_BELT))]["id"])
    elif name == "corn":
        found = list(label_matches(0.3)["id"])
    else:
        labelled = label_matches(0.1)
        index_dir = root / LABELS / "index"
        linked = {
            resolved(index_dir, self_href(links), link["href"])
            for links in labelled["links"]
            for link in links
            if link["rel"] == "source"
        }
        source = items(SOURCE)
        source_dir = root / SOURCE / "index"
        found = []
        for links, assets in zip(source["links"], source["assets"], strict=True):
            here = self_href(links)
            if os.path.normpath(source_dir / here) in linked:
                found += [resolved(source_dir, here, a["href"]) for a in assets.values() if a]
    return {
        "imports": imported - started,
        "seconds": time.perf_counter() - imported,
        **answer(found),
    }


# -- running and summarising ---------------------------------------------------------------


@dataclass
class Run:
    """One measured run, as stored in the JSON results."""

    method: str
    query: str
    chips: int
    repeat: int
    result: dict[str, Any] | None
    peak_rss: int
    error: str | None = None


def bench(
    chips: int, *, queries: Sequence[str], repeat: int, work: Path, max_rss: int, timeout: float
) -> list[Run]:
    """Builds the catalog of ``chips`` chips once and runs every query and method on it."""
    root = work / f"search-{DATASET}-{chips}"
    shutil.rmtree(root, ignore_errors=True)
    runs: list[Run] = []
    try:
        build_catalog(root, chips)
        catalog = str(root / "catalog")
        for r in range(repeat):
            for name in queries:
                for method in METHODS if r % 2 == 0 else METHODS[::-1]:
                    fn, args = {
                        "geopandas": (geopandas_files, (catalog, name)),
                        "stacforge cold": (stacforge_cold, (catalog, name)),
                        "stacforge warm": (stacforge_warm, (catalog, name, WARM_REPEAT)),
                    }[method]
                    m = measure(fn, *args, max_rss=max_rss, timeout=timeout)
                    run = Run(method, name, chips, r, m.result, m.peak_rss, m.error)
                    runs.append(run)
                    print(_describe(run), file=sys.stderr, flush=True)
        _check(runs)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return runs


def _check(runs: list[Run]) -> None:
    """Fails unless every run of a query gave the same answer."""
    for name in {run.query for run in runs}:
        answers = {
            (run.method, run.result["count"], run.result["digest"])
            for run in runs
            if run.query == name and run.result
        }
        assert len({a[1:] for a in answers}) == 1, f"{name}: different answers {answers}"


def _describe(run: Run) -> str:
    head = f"{run.chips:>7,} chips  {run.query:<12} {run.method:<15} #{run.repeat}"
    if run.result is None:
        return f"{head}  failed: {run.error}"
    parts = [f"{run.result['seconds']:8.4f} s", f"{run.result['count']:>7,} results"]
    if "imports" in run.result:
        parts.append(f"imports {run.result['imports']:.2f} s")
    return f"{head}  " + "  ".join(parts) + f"  peak {run.peak_rss / MIB:,.0f} MiB"


def summarize(runs: list[Run]) -> list[dict[str, Any]]:
    """Per size and query: each method's median seconds, and the baseline's ratios to them."""
    rows = []
    for chips in sorted({run.chips for run in runs}):
        for name in QUERIES:
            row: dict[str, Any] = {"chips": chips, "query": name, "methods": {}}
            for method in METHODS:
                done = [
                    r.result
                    for r in runs
                    if (r.chips, r.query, r.method) == (chips, name, method) and r.result
                ]
                if done:
                    row["methods"][method] = {
                        "runs": len(done),
                        "seconds": statistics.median(d["seconds"] for d in done),
                        "count": done[0]["count"],
                    }
            methods = row["methods"]
            if not methods:
                continue
            if "geopandas" in methods:
                for method in ("stacforge cold", "stacforge warm"):
                    if method in methods:
                        row[f"geopandas_over_{method.split()[1]}"] = (
                            methods["geopandas"]["seconds"] / methods[method]["seconds"]
                        )
            rows.append(row)
    return rows


def markdown(summary: list[dict[str, Any]], facts: dict[str, Any]) -> str:
    """The results as a Markdown table, after a line of machine facts."""
    rows = [
        [
            row["chips"],
            QUERIES[row["query"]].title,
            next(iter(row["methods"].values()))["count"],
            *(_seconds(row["methods"].get(method)) for method in METHODS),
            _ratio(row.get("geopandas_over_cold")),
            _ratio(row.get("geopandas_over_warm")),
        ]
        for row in summary
    ]
    return (
        f"Measured {facts['date']} on {facts['cpu']} ({facts['cores']} cores, shared with other "
        f"work: load average {facts['load_average']} at the start, "
        f"{facts['load_average_end']} at the end), Python {facts['python']}, GeoPandas "
        f"{facts['geopandas']}, pyarrow {facts['pyarrow']}, commit {facts['commit']}; medians "
        f"of {facts['repeat']} runs.\n\n"
        + markdown_table(
            [
                "chips",
                "query",
                "results",
                "GeoPandas, whole files, load incl.",
                "stacforge cold",
                "stacforge warm",
                "GeoPandas / cold",
                "GeoPandas / warm",
            ],
            rows,
        )
    )


def _seconds(case: dict[str, Any] | None) -> str:
    if not case:
        return "-"
    value = float(case["seconds"])
    return f"{value:.3g} s" if value >= 0.1 else f"{value * 1e3:.3g} ms"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}x" if value >= 10 else f"{value:.1f}x"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--chips", type=int, nargs="+", default=[10_000], metavar="N")
    parser.add_argument("--repeat", type=int, default=5, help="runs of every method and query")
    parser.add_argument("--queries", nargs="+", choices=list(QUERIES), default=list(QUERIES))
    parser.add_argument("--work-dir", type=Path, default=Path(__file__).parent / ".data")
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).parent / "results" / "search-hls",
        help="writes OUTPUT.json and OUTPUT.md",
    )
    parser.add_argument(
        "--max-rss-gib", type=float, default=8.0, help="stop a run whose RSS exceeds this"
    )
    parser.add_argument("--timeout-min", type=float, default=60.0, help="stop a run after this")
    args = parser.parse_args(argv)

    facts = {
        "date": datetime.date.today().isoformat(),
        **machine(),
        # Versions from the metadata: importing the packages would grow this process, and
        # every measured child starts from its RSS.
        **{name: version(name) for name in ("geopandas", "pyarrow")},
        "repeat": args.repeat,
    }
    args.work_dir.mkdir(parents=True, exist_ok=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    runs: list[Run] = []
    for chips in args.chips:
        runs.extend(
            bench(
                chips,
                queries=args.queries,
                repeat=args.repeat,
                work=args.work_dir,
                max_rss=int(args.max_rss_gib * GIB),
                timeout=args.timeout_min * 60,
            )
        )
        facts["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        summary = summarize(runs)
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
