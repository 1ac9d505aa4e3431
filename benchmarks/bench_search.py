"""Search benchmark: the RapidAI4EO tutorial's queries on stacforge's sidecars and two baselines.

A RapidAI4EO-shaped catalog is built once per size from sample input (sidecars included, as
``stacforge build`` writes them), then three queries of the corpus tutorial run four ways:

- ``pystac``: the tutorial's STAC method over HTTP. The catalog is served from a separate
  process (``stacforge.serve.create_app`` plus a middleware that sleeps ``--latency`` seconds per
  request, on 127.0.0.1). Spatial queries use the tutorial's ``items_intersecting_geometry``
  recursion (read the items of every collection whose extent intersects, test each geometry
  with shapely); the label query walks the labels collection's items and reads their
  ``label:overviews``. A run stops itself after ``--baseline-budget`` seconds; its time is then
  extrapolated linearly to the number of requests the whole crawl makes (counted on disk).
- ``tutorial``: the tutorial's optimised method: GeoPandas ``read_file`` of the gzipped GeoJSON
  footprints and pandas ``read_csv`` of the gzipped label shares (load included), the same
  filters, and asset URLs built from the corpus' URL pattern.
- ``stacforge``: ``stacforge.open_index(catalog)`` and a search, in a new process (``cold``), and
  repeated on an index already open (``warm``); ``stacforge search`` as a command (``CLI``, wall
  time from process start), and the same command with ``--format count`` (``CLI count``),
  against the floor of any such command, a new Python process that imports ``pyarrow.parquet``
  (``import pyarrow.parquet``).

Every answer is checked against the others (ids or hrefs, as sorted sets): a benchmark of wrong
answers would be no benchmark. Import times are reported apart from load and query times. From
the project root:

    .venv/bin/python benchmarks/bench_search.py --locations 10000 100000

writes ``benchmarks/results/search.json`` and ``search.md``.
"""

from __future__ import annotations

import argparse
import compileall
import datetime
import importlib.util
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from common import (
    GIB,
    MIB,
    Measured,
    Report,
    Traffic,
    answer,
    machine,
    markdown_table,
    measure,
    serving,
)

# Heavy imports (stacforge's search stack, pystac, GeoPandas) happen inside the measured
# functions: each runs in a fresh process that imports this module first, and a cold run must
# pay its own imports (reported apart from its load and query times). stacforge imports its
# search stages and their libraries when a search first needs them; a cold run imports them
# first, so that its time is that of the search, as the tutorial's excludes GeoPandas.

DATASET = "rapidai4eo"
PF = "rapidai4eo_v1_source_pf"
S2 = "rapidai4eo_v1_source_s2"
LABELS = "rapidai4eo_v1_labels"
GEOMETRIES_FILE = "rapidai4eo_geometries.geojson.gz"
LABELS_FILE = "rapidai4eo_labels.csv.gz"
LABEL_MAPPINGS_FILE = "rapidai4eo_label_mappings.csv"

BERLIN = (13.05, 52.35, 13.72, 52.69)
GERMANY = Path(__file__).parent / "germany.geojson"
"""A rough outline of Germany drawn by hand; every method reads this same file."""
FOREST = ("clc_311", "clc_312", "clc_313")
PEAT_BOG, PEAT_BOG_SHARE = "clc_412", 0.8
YEAR_START, YEAR_END = datetime.date(2018, 1, 1), datetime.date(2019, 1, 1)
"""The tutorial's temporal filter: ``start < date < end``."""

PROGRESS_EVERY = 500  # items between the pystac runs' progress reports
WARM_REPEAT = 20
WARM_SECONDS = 10.0


@dataclass(frozen=True)
class Query:
    """One tutorial query: stacforge's search parameters, its command line, what it returns."""

    name: str
    title: str
    output: str
    """``ids`` or ``hrefs``."""
    params: dict[str, Any]
    cli: tuple[str, ...]


QUERIES = {
    query.name: query
    for query in (
        Query(
            "berlin",
            "Berlin box: Planet Fusion item ids",
            "ids",
            {"bbox": BERLIN, "collections": [PF]},
            ("--bbox", ",".join(map(str, BERLIN)), "--collections", PF),
        ),
        Query(
            "peat-bog",
            f"{PEAT_BOG} > {PEAT_BOG_SHARE}: label item ids",
            "ids",
            {"labels": f"{PEAT_BOG}>{PEAT_BOG_SHARE}", "collections": [LABELS]},
            ("--label", f"{PEAT_BOG}>{PEAT_BOG_SHARE}", "--collections", LABELS),
        ),
        Query(
            "germany-forest",
            "Germany polygon, all forest: PF + S2 data hrefs of 2018",
            "hrefs",
            {
                "intersects": str(GERMANY),
                "label_any": f"{','.join(FOREST)}>=1.0",
                "collections": [PF, S2],
                "asset_roles": ["data"],
                "asset_datetime": "2018",
            },
            (
                "--intersects",
                str(GERMANY),
                "--label-any",
                f"{','.join(FOREST)}>=1.0",
                "--collections",
                f"{PF},{S2}",
                "--asset-role",
                "data",
                "--asset-datetime",
                "2018",
            ),
        ),
    )
}
METHODS = (
    "pystac",
    "tutorial",
    "stacforge cold",
    "stacforge warm",
    "stacforge CLI",
    "stacforge CLI count",
    "import pyarrow.parquet",
)


def _sample(value: str) -> str:
    """The sample location of an item id (``<collection>_<sample>``) or of an asset href."""
    if "/" in value:
        return value.split("/")[-3]  # .../<zone>/<tile>/<sample>/<product>/<file>
    return value.removeprefix(f"{PF}_").removeprefix(f"{S2}_").removeprefix(f"{LABELS}_")


# -- stacforge (measured runs: module level, each runs in a spawned process) ----------------


def _search(index: Any, query: Query) -> list[Any]:
    """The answer as Arrow string arrays (what ``stacforge search`` writes; a list of ``str``
    takes 0.1 s more for half a million hrefs)."""
    search = index.search(**query.params)
    return list(search.ids_as_arrow() if query.output == "ids" else search.hrefs_as_arrow())


def _strings(blocks: list[Any]) -> list[str]:
    return [value for block in blocks for value in block.to_pylist()]


def stacforge_cold(catalog: str, name: str, report: Report) -> dict[str, Any]:
    """A new process: imports, ``open_index(catalog)`` and one search."""
    started = time.perf_counter()
    import pyarrow.compute  # noqa: F401
    import shapely  # noqa: F401

    import stacforge
    import stacforge.index.assets
    import stacforge.index.labels

    open_index = stacforge.open_index  # loads the search stack
    imported = time.perf_counter()
    found = _search(open_index(catalog), QUERIES[name])
    done = time.perf_counter()
    return {"imports": imported - started, "seconds": done - imported, **answer(_strings(found))}


def stacforge_warm(catalog: str, name: str, repeat: int, report: Report) -> dict[str, Any]:
    """One open index, the search run once to warm up and then ``repeat`` times (at least 3,
    fewer than ``repeat`` once they took ``WARM_SECONDS``)."""
    import stacforge

    index = stacforge.open_index(catalog)
    query = QUERIES[name]
    found = _search(index, query)
    times: list[float] = []
    while len(times) < repeat and (len(times) < 3 or sum(times) < WARM_SECONDS):
        started = time.perf_counter()
        _search(index, query)
        times.append(time.perf_counter() - started)
    return {"seconds": statistics.median(times), "times": times, **answer(_strings(found))}


def stacforge_cli(catalog: str, name: str, report: Report) -> dict[str, Any]:
    """``stacforge search`` as a command: wall time from its start to its exit, and its peak RSS.

    Run from a measured child, so that its output (half a million hrefs) does not grow the
    parent, from whose RSS every child's peak starts.
    """
    query = QUERIES[name]
    command = [str(Path(sys.executable).with_name("stacforge")), "search", catalog, *query.cli]
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "--format", query.output], capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip())
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux
    return {"seconds": seconds, "peak_rss": peak, **answer(done.stdout.splitlines())}


def stacforge_cli_count(catalog: str, name: str, report: Report) -> dict[str, Any]:
    """``stacforge search ... --format count``: wall time from its start to its exit (checked
    against the number of matching items)."""
    query = QUERIES[name]
    command = [str(Path(sys.executable).with_name("stacforge")), "search", catalog, *query.cli]
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "--format", "count"], capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip())
    return {"seconds": seconds, "items": int(done.stdout)}


def import_pyarrow_parquet(report: Report) -> dict[str, Any]:
    """The floor of a command-line search: a new Python process that imports
    ``pyarrow.parquet`` (and numpy), wall time from its start to its exit."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import pyarrow.parquet"], check=True)
    return {"seconds": time.perf_counter() - started}


# -- the tutorial's method: GeoPandas and pandas on the corpus' resource files ------------


def tutorial(source: str, name: str, report: Report) -> dict[str, Any]:
    """The tutorial's optimised query ``name`` on the resource files in ``source``.

    Each query loads only the files it needs (the tutorial loads all three at once).
    """
    started = time.perf_counter()
    import gzip

    import geopandas as gpd
    import pandas as pd
    import shapely
    import shapely.geometry

    # The corpus' time steps and URL base (the tutorial's rapidai4eo.py knows them too).
    from stacforge.datasets.rapidai4eo import constants

    imported = time.perf_counter()
    folder = Path(source)

    def geometries() -> Any:
        with gzip.open(folder / GEOMETRIES_FILE) as f:
            return gpd.read_file(f).set_index("sample_id")

    def labels() -> Any:
        return pd.read_csv(folder / LABELS_FILE).set_index("sample_id")

    found: list[str]
    if name == "berlin":
        footprints = geometries()
        loaded = time.perf_counter()
        chosen = footprints[footprints.geometry.intersects(shapely.box(*BERLIN))].index
        found = [f"{PF}_{sample}" for sample in chosen]
    elif name == "peat-bog":
        shares = labels()
        loaded = time.perf_counter()
        found = [f"{LABELS}_{sample}" for sample in shares[shares[PEAT_BOG] > PEAT_BOG_SHARE].index]
    else:
        footprints, shares = geometries(), labels()
        mappings = pd.read_csv(folder / LABEL_MAPPINGS_FILE).set_index("index")
        loaded = time.perf_counter()
        germany = shapely.geometry.shape(json.loads(GERMANY.read_text())["geometry"])
        in_germany = footprints[footprints.geometry.intersects(germany)].index
        forest_classes = mappings[mappings.clc_level2_id == 31].index.values
        forest = shares.loc[in_germany][forest_classes].sum(axis=1)
        found = _asset_hrefs(forest[forest >= 1.0].index, constants)
    done = time.perf_counter()
    return {
        "imports": imported - started,
        "load": loaded - imported,
        "seconds": done - imported,
        **answer(found),
    }


def _asset_hrefs(samples: Iterable[str], constants: Any) -> list[str]:
    """Planet Fusion surface reflectance and Sentinel-2 URLs of 2018 by the corpus' pattern:
    ``imagery/<zone>/<tile>/<sample>/<PF-SR|S2-SR>/<date>.tif``."""
    days = [d.isoformat() for d in constants.PF_DATES if YEAR_START < d < YEAR_END]
    months = [d.strftime("%Y-%m") for d in constants.S2_MONTHS if YEAR_START < d < YEAR_END]
    base = f"{constants.DEFAULT_ASSET_HREF_BASE}imagery"
    hrefs: list[str] = []
    for sample in samples:
        zone, tile = sample.split("_")[:2]
        folder = f"{base}/{zone}/{tile}/{sample}"
        hrefs.extend(f"{folder}/PF-SR/{day}.tif" for day in days)
        hrefs.extend(f"{folder}/S2-SR/{month}.tif" for month in months)
    return hrefs


# -- the tutorial's STAC method: pystac over HTTP -------------------------------------------


class _OutOfTime(Exception):
    """The run's budget is spent."""


def _items_in_geometry(
    collection: Any, geometry: Any, visited: list[str], deadline: float
) -> Iterator[Any]:
    """The tutorial's ``items_intersecting_geometry``, as a generator that notes the items it
    reads: the items of a collection are read if one of its extent's boxes intersects
    ``geometry``, and every sub-collection is searched the same way."""
    import shapely
    import shapely.geometry

    boxes = [shapely.box(*bounds) for bounds in collection.extent.spatial.bboxes]
    if any(box.intersects(geometry) for box in boxes):
        for item in collection.get_items():
            visited.append(item.id)
            if shapely.geometry.shape(item.geometry).intersects(geometry):
                yield item
            if time.perf_counter() > deadline:  # once the item read is fully handled
                raise _OutOfTime
    for child in collection.get_collections():
        yield from _items_in_geometry(child, geometry, visited, deadline)


def _shares(item: Any) -> dict[str, float]:
    """Class shares from the item's ``label:overviews`` statistics."""
    return {
        entry["name"]: entry["value"]
        for overview in item.properties.get("label:overviews", [])
        for entry in overview.get("statistics") or []
    }


def pystac_crawl(url: str, name: str, budget: float, report: Report) -> dict[str, Any]:
    """The tutorial's STAC method for query ``name``, from the root catalog at ``url``.

    Stops after ``budget`` seconds; the answer then covers the items read so far (``visited``).
    """
    started = time.perf_counter()
    import pystac
    import shapely
    import shapely.geometry

    imported = time.perf_counter()
    deadline = imported + budget
    visited: list[str] = []
    found: list[str] = []
    catalog = pystac.Catalog.from_file(url)

    def progress(items: Iterable[Any]) -> Iterator[Any]:
        for item in items:
            if len(visited) % PROGRESS_EVERY == 0:
                report("items", len(visited))
            yield item

    complete = True
    try:
        if name == "berlin":
            pf = catalog.get_child(PF)
            area = shapely.box(*BERLIN)
            found.extend(i.id for i in progress(_items_in_geometry(pf, area, visited, deadline)))
        elif name == "peat-bog":
            labels = catalog.get_child(LABELS)
            assert labels is not None
            for item in progress(labels.get_items(recursive=True)):
                visited.append(item.id)
                if _shares(item).get(PEAT_BOG, 0.0) > PEAT_BOG_SHARE:
                    found.append(item.id)
                if time.perf_counter() > deadline:
                    raise _OutOfTime
        else:
            germany = shapely.geometry.shape(json.loads(GERMANY.read_text())["geometry"])
            labels = catalog.get_child(LABELS)
            for item in progress(_items_in_geometry(labels, germany, visited, deadline)):
                shares = _shares(item)
                if sum(shares.get(forest, 0.0) for forest in FOREST) >= 1.0:
                    # The tutorial's way to the imagery: follow the item's links.
                    for link in item.get_links("source"):
                        found.extend(_data_hrefs_of_2018(link.resolve_stac_object().target))
    except _OutOfTime:
        complete = False
    done = time.perf_counter()
    return {
        "imports": imported - started,
        "seconds": done - imported,
        "complete": complete,
        "visited": visited,
        "found": found,
        **answer(found),
    }


def _data_hrefs_of_2018(item: Any) -> list[str]:
    """The hrefs of the item's assets with the role ``data`` and a time in 2018."""
    start = datetime.datetime.combine(YEAR_START, datetime.time(), datetime.UTC)
    end = datetime.datetime.combine(YEAR_END, datetime.time(), datetime.UTC)
    return [
        asset.href
        for asset in item.assets.values()
        if asset.has_role("data")
        and start < datetime.datetime.fromisoformat(asset.extra_fields["datetime"]) < end
    ]


# -- the catalog, reference answers, the crawl's size -----------------------------------


def build_catalog(root: Path, locations: int, report: Report) -> None:
    """Writes the sample input to ``root/source`` and builds ``root/catalog`` (with sidecars)."""
    from stacforge.builder import build
    from stacforge.datasets.rapidai4eo.sample import write_sample

    write_sample(root / "source", count=locations, seed=0)
    report("sample", locations)
    build(DATASET, root / "source", root / "catalog")
    report("built", locations * 3)


def crawl_requests(catalog: Path, name: str, matches: int) -> int:
    """How many documents ``pystac_crawl`` reads for a whole run, counted on disk.

    The root catalog and the top-level collection (``get_child`` reads only the matching child);
    then, for a spatial query, every collection below it and the items of those whose extent
    intersects the area, or, for the label walk, every collection and item; plus the two source
    items of each of the ``matches`` label items of the Germany query.
    """
    import orjson
    import shapely
    import shapely.geometry

    area = None
    if name == "berlin":
        area = shapely.box(*BERLIN)
    elif name == "germany-forest":
        area = shapely.geometry.shape(json.loads(GERMANY.read_text())["geometry"])

    def documents(path: Path) -> int:
        collection = orjson.loads(path.read_bytes())
        links = collection["links"]
        bboxes = collection["extent"]["spatial"]["bbox"]
        count = 1
        if area is None or any(shapely.box(*b).intersects(area) for b in bboxes):
            count += sum(link["rel"] == "item" for link in links)
        for link in links:
            if link["rel"] == "child":
                count += documents((path.parent / link["href"]).resolve())
        return count

    top = LABELS if name != "berlin" else PF
    return 1 + documents(catalog / top / "collection.json") + 2 * matches


def references(catalog: str, report: Report) -> dict[str, dict[str, Any]]:
    """stacforge's answer to every query, that every measured answer must equal.

    Per query: ``answer`` (count and digest), ``samples`` (the digest of each sample location's
    values, to check a stopped crawl's partial answer) and ``requests`` (:func:`crawl_requests`).
    Computed in a process of its own, so that the parent stays small: a child's peak RSS starts
    from its parent's RSS at the fork.
    """
    import stacforge

    index = stacforge.open_index(catalog)
    found = {}
    for name, query in QUERIES.items():
        values = _strings(_search(index, query))
        samples = {s: answer(v)["digest"] for s, v in _by_sample(values).items()}
        matches = len(samples) if name == "germany-forest" else 0
        found[name] = {
            "answer": answer(values),
            "items": index.count(**query.params),
            "samples": samples,
            "requests": crawl_requests(Path(catalog), name, matches),
        }
    return found


def _by_sample(values: Iterable[str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for value in values:
        grouped.setdefault(_sample(value), []).append(value)
    return grouped


def check(run: Run, reference: dict[str, Any]) -> None:
    """Fails unless the run's answer equals the reference (for a stopped pystac run: equals the
    reference restricted to the items it read)."""
    result = run.result
    assert result is not None
    where = f"{run.name}, {run.query}, {run.locations:,} locations"
    if "items" in result:
        assert result["items"] == reference["items"], f"{where}: {result['items']:,} items"
        return
    if "count" not in result:
        return  # the floor: no answer
    if result.get("complete", True):
        answer = {key: result[key] for key in ("count", "digest")}
        assert answer == reference["answer"], (
            f"{where}: {answer['count']:,} results, expected {reference['answer']['count']:,} "
            "(or the same number of other values)"
        )
        return
    visited = {_sample(i) for i in result["visited"]}
    found = {s: answer(v)["digest"] for s, v in _by_sample(result["found"]).items()}
    expected = {s: d for s, d in reference["samples"].items() if s in visited}
    assert found == expected, (
        f"{where}: {len(found):,} matches among the {len(visited):,} items read, "
        f"expected {len(expected):,} (or other values)"
    )


# -- running ---------------------------------------------------------------------------


@dataclass
class Run:
    """One measured run, as stored in the JSON results."""

    name: str
    query: str
    locations: int
    repeat: int
    result: dict[str, Any] | None
    peak_rss: int
    elapsed: float
    traffic: Traffic | None = None
    requests_total: int | None = None
    """pystac: the documents the whole crawl reads (to extrapolate a stopped run)."""
    error: str | None = None

    @property
    def seconds(self) -> float | None:
        """Load and query (or crawl) time; for a stopped crawl, extrapolated to all requests."""
        if self.result is None:
            return None
        seconds = float(self.result["seconds"])
        if self.result.get("complete", True):
            return seconds
        assert self.traffic is not None and self.requests_total is not None
        return seconds * self.requests_total / self.traffic.requests


def _measured(
    name: str,
    query: str,
    locations: int,
    repeat: int,
    fn: Measured,
    *args: Any,
    max_rss: int,
    timeout: float,
) -> Run:
    m = measure(fn, *args, max_rss=max_rss, timeout=timeout)
    return Run(name, query, locations, repeat, m.result, m.peak_rss, m.elapsed, error=m.error)


def bench(
    locations: int,
    *,
    queries: Sequence[str],
    methods: Sequence[str],
    repeat: int,
    work: Path,
    latency: float,
    budget: float,
    max_rss: int,
    timeout: float,
    log: Callable[[Run], None],
) -> list[Run]:
    """Builds the catalog for ``locations`` once and runs every query and method on it."""
    root = work / f"search-{DATASET}-{locations}"  # bench_crawl.py uses {DATASET}-{locations}
    shutil.rmtree(root, ignore_errors=True)
    runs: list[Run] = []
    try:
        built = measure(build_catalog, root, locations, max_rss=max_rss, timeout=timeout)
        if built.error:
            raise RuntimeError(f"building the catalog failed: {built.error}")
        catalog = root / "catalog"
        found = measure(references, str(catalog), max_rss=max_rss, timeout=timeout)
        if found.result is None:
            raise RuntimeError(f"the reference answers failed: {found.error}")
        truth = found.result
        fast = [m for m in methods if m != "pystac"]
        for r in range(repeat):
            for name in queries:
                for method in fast if r % 2 == 0 else fast[::-1]:
                    run = _fast_run(method, root, name, locations, r, max_rss, timeout)
                    runs.append(run)
                    log(run)
                    if run.result is not None:
                        check(run, truth[name])
        if "pystac" in methods:
            with serving(catalog, latency) as server:
                for name in queries:
                    before = server.traffic()
                    run = _measured(
                        "pystac",
                        name,
                        locations,
                        0,
                        pystac_crawl,
                        f"{server.url}/catalog.json",
                        name,
                        budget,
                        max_rss=max_rss,
                        timeout=budget * 1.5 + 60,
                    )
                    run.traffic = server.traffic() - before
                    run.requests_total = truth[name]["requests"]
                    runs.append(run)
                    log(run)
                    if run.result is not None:
                        check(run, truth[name])
                        run.result = {
                            k: v for k, v in run.result.items() if k not in ("visited", "found")
                        } | {"visited": len(run.result["visited"])}
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return runs


def _fast_run(
    method: str, root: Path, name: str, locations: int, repeat: int, max_rss: int, timeout: float
) -> Run:
    fn, args = {
        "tutorial": (tutorial, (str(root / "source"), name)),
        "stacforge cold": (stacforge_cold, (str(root / "catalog"), name)),
        "stacforge warm": (stacforge_warm, (str(root / "catalog"), name, WARM_REPEAT)),
        "stacforge CLI": (stacforge_cli, (str(root / "catalog"), name)),
        "stacforge CLI count": (stacforge_cli_count, (str(root / "catalog"), name)),
        "import pyarrow.parquet": (import_pyarrow_parquet, ()),
    }[method]
    run = _measured(method, name, locations, repeat, fn, *args, max_rss=max_rss, timeout=timeout)
    if run.result and "peak_rss" in run.result:  # the command's own, not its caller's
        run.peak_rss = run.result["peak_rss"]
    return run


def _describe(run: Run) -> str:
    head = f"{run.locations:>7,} locations  {run.query:<15} {run.name:<15} #{run.repeat}"
    if run.result is None or run.seconds is None:
        return f"{head}  failed: {run.error}"
    result = run.result
    parts = [f"{run.seconds:9.3f} s"]
    if "count" in result or "items" in result:
        parts.append(f"{result.get('count', result.get('items')):>9,} results")
    if "imports" in result:
        parts.append(f"imports {result['imports']:.2f} s")
    if "load" in result:
        parts.append(f"load {result['load']:.2f} s")
    if not result.get("complete", True):
        assert run.traffic is not None
        parts.append(
            f"stopped after {result['seconds']:.0f} s, {run.traffic.requests:,} of "
            f"{run.requests_total:,} requests: projected"
        )
    elif run.traffic is not None:
        parts.append(f"{run.traffic.requests:,} requests (counted on disk: {run.requests_total:,})")
    if run.peak_rss:
        parts.append(f"peak {run.peak_rss / MIB:,.0f} MiB")
    return f"{head}  " + "  ".join(parts)


# -- summarising -----------------------------------------------------------------------


def summarize(runs: list[Run]) -> list[dict[str, Any]]:
    """Per size and query: each method's median seconds, and the ratios the goals are about."""
    rows = []
    for locations in sorted({r.locations for r in runs}):
        for name in QUERIES:
            mine = [r for r in runs if r.locations == locations and r.query == name]
            if not mine:
                continue
            row: dict[str, Any] = {"locations": locations, "query": name, "methods": {}}
            for method in METHODS:
                done = [r for r in mine if r.name == method and r.seconds is not None]
                if not done:
                    continue
                summary: dict[str, Any] = {
                    "runs": len(done),
                    "seconds": statistics.median(r.seconds for r in done if r.seconds),
                    "count": done[0].result.get("count") if done[0].result else None,
                    "peak_rss": max(r.peak_rss for r in done),
                }
                for key in ("imports", "load"):
                    if done[0].result and key in done[0].result:
                        summary[key] = statistics.median(r.result[key] for r in done if r.result)
                if method == "pystac":
                    run = done[0]
                    assert run.result is not None and run.traffic is not None
                    summary |= {
                        "complete": run.result["complete"],
                        "measured_seconds": run.result["seconds"],
                        "requests": run.traffic.requests,
                        "requests_total": run.requests_total,
                        "items_read": run.result["visited"],
                    }
                row["methods"][method] = summary
            methods = row["methods"]
            if (floor := methods.get("import pyarrow.parquet")) is not None:
                for method, key in (("stacforge CLI count", "count"), ("stacforge CLI", "cli")):
                    if method in methods:
                        row[f"{key}_over_floor"] = methods[method]["seconds"] / floor["seconds"]
            if cold := methods.get("stacforge cold"):
                warm = methods.get("stacforge warm")
                for baseline in ("pystac", "tutorial"):
                    if baseline in methods:
                        seconds = methods[baseline]["seconds"]
                        row[f"{baseline}_over_cold"] = seconds / cold["seconds"]
                        if warm:
                            row[f"{baseline}_over_warm"] = seconds / warm["seconds"]
            rows.append(row)
    return rows


def markdown(summary: list[dict[str, Any]], facts: dict[str, Any]) -> str:
    """The results as Markdown: the goals table, then details per method."""
    goals = []
    commands = []
    details = []
    for row in summary:
        methods = row["methods"]
        # Complete answers all have this many results (checked); a stopped crawl's has fewer.
        count = next(
            (
                c["count"]
                for c in methods.values()
                if c.get("complete", True) and c["count"] is not None
            ),
            "-",
        )
        pystac_case = methods.get("pystac")
        goals.append(
            [
                row["locations"],
                QUERIES[row["query"]].title,
                count,
                _pystac_seconds(pystac_case),
                _seconds(methods.get("tutorial")),
                _seconds(methods.get("stacforge cold")),
                _seconds(methods.get("stacforge warm")),
                _seconds(methods.get("stacforge CLI")),
                _ratio(row.get("pystac_over_cold"))
                + ("" if not pystac_case or pystac_case["complete"] else " (proj.)"),
                _ratio(row.get("tutorial_over_cold")),
                _ratio(row.get("tutorial_over_warm")),
            ]
        )
        if "import pyarrow.parquet" in methods:
            commands.append(
                [
                    row["locations"],
                    QUERIES[row["query"]].title,
                    _seconds(methods["import pyarrow.parquet"]),
                    _seconds(methods.get("stacforge CLI count")),
                    _ratio(row.get("count_over_floor")),
                    _seconds(methods.get("stacforge CLI")),
                    _ratio(row.get("cli_over_floor")),
                ]
            )
        for method, case in methods.items():
            extra = "-"
            if method == "pystac":
                extra = (
                    f"{case['requests']:,} requests, {case['items_read']:,} items read"
                    if case["complete"]
                    else f"stopped after {case['measured_seconds']:,.0f} s: {case['requests']:,} "
                    f"of {case['requests_total']:,} requests, {case['items_read']:,} items read"
                )
            details.append(
                [
                    row["locations"],
                    row["query"],
                    method,
                    _seconds(case),
                    _seconds(case, "load"),
                    _seconds(case, "imports"),
                    round(case["peak_rss"] / MIB) if case["peak_rss"] else "-",
                    case["runs"],
                    extra,
                ]
            )
    return "".join(
        [
            f"Measured {facts['date']} on {facts['cpu']} ({facts['cores']} cores, shared with "
            f"other work: load average {facts['load_average']} at the start, "
            f"{facts['load_average_end']} at the end), Python {facts['python']}, "
            f"pystac {facts['pystac']}, GeoPandas {facts['geopandas']}, pandas "
            f"{facts['pandas']}, pyarrow {facts['pyarrow']}, commit {facts['commit']}; "
            f"{facts['latency'] * 1e3:.0f} ms added per request for pystac, whose runs stop "
            f"after {facts['budget']:.0f} s and are then projected.\n\n",
            markdown_table(
                [
                    "locations",
                    "query",
                    "results",
                    "(a) pystac crawl",
                    "(b) tutorial, load incl.",
                    "stacforge cold",
                    "stacforge warm",
                    "stacforge CLI",
                    "(a) / cold (goal >= 1000x)",
                    "(b) / cold (goal >= 10x)",
                    "(b) / warm",
                ],
                goals,
            ),
            "\n",
            markdown_table(
                [
                    "locations",
                    "query",
                    "floor: python -c 'import pyarrow.parquet'",
                    "stacforge search --format count",
                    "count / floor (goal <= 1.5x)",
                    "stacforge search (ids or hrefs)",
                    "ids or hrefs / floor",
                ],
                commands,
            )
            if commands
            else "",
            "\n" if commands else "",
            markdown_table(
                [
                    "locations",
                    "query",
                    "method",
                    "time",
                    "of which load",
                    "imports (apart)",
                    "peak RSS MiB",
                    "runs",
                    "notes",
                ],
                details,
            ),
        ]
    )


def _seconds(case: dict[str, Any] | None, key: str = "seconds") -> str:
    if not case or key not in case:
        return "-"
    value = float(case[key])
    if value >= 60:
        return f"{value / 60:,.1f} min"
    return f"{value:.3g} s" if value >= 0.1 else f"{value * 1e3:.3g} ms"


def _pystac_seconds(case: dict[str, Any] | None) -> str:
    if not case:
        return "-"
    return _seconds(case) + ("" if case["complete"] else " (proj.)")


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}x" if value >= 10 else f"{value:.1f}x"


def _compile_stacforge() -> None:
    """Compiles stacforge's modules to bytecode, as installing a package does: a command
    started from a source checkout with ``PYTHONDONTWRITEBYTECODE`` set compiles every module it
    imports, on every start (20-30 ms of a cold search here), while its floor's pyarrow and numpy
    come compiled with their wheels."""
    spec = importlib.util.find_spec("stacforge")
    assert spec is not None and spec.submodule_search_locations is not None
    for folder in spec.submodule_search_locations:
        compileall.compile_dir(folder, quiet=1)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--locations", type=int, nargs="+", default=[10_000], metavar="N")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per query of every method but pystac"
    )
    parser.add_argument("--queries", nargs="+", choices=list(QUERIES), default=list(QUERIES))
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--latency", type=float, default=0.020, help="seconds added per request")
    parser.add_argument(
        "--baseline-budget",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="stop a pystac run after this long and project it to the whole crawl",
    )
    parser.add_argument("--work-dir", type=Path, default=Path(__file__).parent / ".data")
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).parent / "results" / "search",
        help="writes OUTPUT.json and OUTPUT.md",
    )
    parser.add_argument(
        "--max-rss-gib", type=float, default=8.0, help="stop a run whose RSS exceeds this"
    )
    parser.add_argument("--timeout-min", type=float, default=60.0, help="stop a run after this")
    args = parser.parse_args(argv)

    os.environ["NO_PROXY"] = "127.0.0.1"  # clients must reach the loopback server directly
    facts = {
        "date": datetime.date.today().isoformat(),
        **machine(),
        # Versions from the metadata: importing the packages would grow this process, and
        # every measured child starts from its RSS.
        **{name: version(name) for name in ("pystac", "geopandas", "pandas", "pyarrow")},
        "latency": args.latency,
        "budget": args.baseline_budget,
    }
    _compile_stacforge()
    args.work_dir.mkdir(parents=True, exist_ok=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    runs: list[Run] = []
    for locations in args.locations:
        runs.extend(
            bench(
                locations,
                queries=args.queries,
                methods=args.methods,
                repeat=args.repeat,
                work=args.work_dir,
                latency=args.latency,
                budget=args.baseline_budget,
                max_rss=int(args.max_rss_gib * GIB),
                timeout=args.timeout_min * 60,
                log=lambda run: print(_describe(run), file=sys.stderr, flush=True),
            )
        )
        facts["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        summary = summarize(runs)
        args.output.with_suffix(".json").write_text(
            json.dumps(
                {"machine": facts, "summary": summary, "runs": [asdict(r) for r in runs]},
                indent=1,
            )
            + "\n"
        )
    table = markdown(summary, facts)
    args.output.with_suffix(".md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
