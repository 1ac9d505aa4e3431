"""Build benchmark: stacforge's RapidAI4EO build against a straightforward pystac build.

Both builds read and map the same sample input with stacforge's RapidAI4EO reader and mapper,
so only the writing differs. stacforge streams items to disk with its catalog writer; the
baseline does what a pystac user would: one ``pystac.Collection`` per top-level collection, zone
and tile, ``Item.from_dict`` and ``add_item``, sibling links as ``pystac.Link`` objects to the
items, ``update_extent_from_items``, ``normalize_hrefs`` and ``save``. Every build runs in its own
process (see :func:`common.measure`); the output is deleted after each. From the project root:

    .venv/bin/python benchmarks/bench_build.py --locations 1000 10000 50000

writes ``benchmarks/results/build.json`` and ``build.md``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import posixpath
import shutil
import signal
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pystac
from pystac.stac_io import DefaultStacIO
from pystac.utils import make_relative_href

import stacforge
from common import (
    GIB,
    MIB,
    Measured,
    Progress,
    Report,
    machine,
    markdown_table,
    measure,
    tree_size,
)
from stacforge.builder import build
from stacforge.catalog.model import CollectionSpec
from stacforge.datasets import BuildOptions
from stacforge.datasets.rapidai4eo import constants, reader, stac
from stacforge.datasets.rapidai4eo.sample import write_sample

DATASET = "rapidai4eo"
ITEMS_PER_LOCATION = 3  # Planet Fusion, Sentinel-2 and label item
PROGRESS_EVERY = 1000  # locations between the baseline's progress reports


def build_stacforge(source: Path, out: Path, report: Report) -> int:
    """The stacforge build as shipped: the catalog and each collection's sidecar index."""
    return _build_stacforge(source, out, report, index=True)


def build_stacforge_no_index(source: Path, out: Path, report: Report) -> int:
    """The stacforge build without sidecar indexes (``--no-index``): the same output as pystac."""
    return _build_stacforge(source, out, report, index=False)


def _build_stacforge(source: Path, out: Path, report: Report, *, index: bool) -> int:
    result = build(DATASET, source, out, index=index)
    items = sum(result.items.values())
    report("build", items)
    return items


def build_pystac(source: Path, out: Path, report: Report) -> int:
    """The pystac baseline; sibling links are ``pystac.Link`` objects to the other Items."""
    return _build_pystac(source, out, report, link_objects=True)


def build_pystac_hrefs(source: Path, out: Path, report: Report) -> int:
    """The pystac baseline, but sibling links get relative hrefs once the Items have theirs.

    A link to an Item object in a self-contained catalog makes ``save`` search the whole tree
    for its target (``Catalog.target_in_hierarchy``), so saving costs O(items x links); string
    hrefs skip that search. This variant shows the baseline without that quadratic cost.
    """
    return _build_pystac(source, out, report, link_objects=False)


def _build_pystac(source: Path, out: Path, report: Report, *, link_objects: bool) -> int:
    base = constants.DEFAULT_ASSET_HREF_BASE
    classes = reader.read_label_classes(source)
    spec = stac.create_catalog()
    catalog = pystac.Catalog(id=spec.id, description=spec.description, title=spec.title)
    collections: dict[tuple[str, ...], pystac.Collection] = {}
    for collection_spec in stac.create_collections(classes, base):
        collection = _collection(collection_spec)
        catalog.add_child(collection)
        collections[(collection.id,)] = collection

    items = 0
    sibling_links: list[tuple[pystac.Item, pystac.Item, dict[str, Any]]] = []
    locations = reader.read_locations(source, classes, invalid=BuildOptions().invalid)
    for count, location in enumerate(locations, start=1):
        by_file: dict[str, pystac.Item] = {}
        links: list[tuple[pystac.Item, dict[str, Any]]] = []
        for placed in stac.create_items(location, classes, base):
            # The mapper's sibling links are hrefs in stacforge's layout, not pystac's: link the
            # Items themselves instead.
            own_links = placed.item.pop("links")
            # The dict is ours and already STAC 1.1.0: skip from_dict's two deep copies, which
            # makes the baseline faster than from_dict's defaults.
            item = pystac.Item.from_dict(placed.item, migrate=False, preserve_dict=False)
            links.extend((item, link) for link in own_links)
            _partition(collections, placed.collection, placed.partition).add_item(item)
            by_file[f"{item.id}.json"] = item
        for item, link in links:
            target = by_file[posixpath.basename(link["href"])]
            if link_objects:
                item.add_link(_link(link, target))
            else:
                sibling_links.append((item, target, link))
        items += len(by_file)
        if count % PROGRESS_EVERY == 0:
            report("tree", items)
    report("tree", items)
    for collection in catalog.get_all_collections():
        collection.update_extent_from_items()
    report("extents", items)
    catalog.normalize_hrefs(str(out))
    for item, target, link in sibling_links:
        item.add_link(_link(link, make_relative_href(target.self_href, item.self_href)))
    report("normalize_hrefs", items)
    catalog.save(pystac.CatalogType.SELF_CONTAINED, stac_io=_ReportingStacIO(report))
    report("save", items)
    return items


def _link(link: dict[str, Any], target: str | pystac.Item) -> pystac.Link:
    return pystac.Link(link["rel"], target, media_type=link["type"], title=link.get("title"))


class _ReportingStacIO(DefaultStacIO):
    """pystac's own file writer, reporting every ``PROGRESS_EVERY`` files during ``save``."""

    def __init__(self, report: Report) -> None:
        super().__init__()
        self._report = report
        self._files = 0

    def write_text_to_href(self, href: str, txt: str) -> None:
        super().write_text_to_href(href, txt)
        self._files += 1
        if self._files % PROGRESS_EVERY == 0:
            self._report("saving", self._files)


def _collection(spec: CollectionSpec) -> pystac.Collection:
    """A top-level pystac collection from the mapper's spec; extents come later, from items."""
    return pystac.Collection(
        id=spec.id,
        title=spec.title,
        description=spec.description,
        license=spec.license,
        extent=_unknown_extent(),
        providers=[pystac.Provider.from_dict(dict(p)) for p in spec.providers],
        keywords=list(spec.keywords),
        summaries=pystac.Summaries(dict(spec.summaries)),
        stac_extensions=list(spec.stac_extensions),
        assets={
            key: pystac.Asset.from_dict(asset)
            for key, asset in spec.extra_fields.get("assets", {}).items()
        },
    )


def _partition(
    collections: dict[tuple[str, ...], pystac.Collection],
    collection_id: str,
    partition: tuple[str, ...],
) -> pystac.Collection:
    """The sub-collection of ``partition`` (e.g. zone, tile), created with its ancestors."""
    key = (collection_id, *partition)
    if key not in collections:
        parent = _partition(collections, collection_id, partition[:-1])
        top = collections[(collection_id,)]
        child = pystac.Collection(
            id="_".join(key).lower(),
            title=" / ".join((top.title or top.id, *partition)),
            description=f"{top.title}, partition {'/'.join(partition)}.",
            license=top.license,
            extent=_unknown_extent(),
        )
        parent.add_child(child)
        collections[key] = child
    return collections[key]


def _unknown_extent() -> pystac.Extent:
    interval: list[datetime.datetime | None] = [None, None]
    return pystac.Extent(
        pystac.SpatialExtent([[-180.0, -90.0, 180.0, 90.0]]), pystac.TemporalExtent([interval])
    )


TOOLS: dict[str, Measured] = {
    "stacforge": build_stacforge,
    "stacforge-no-index": build_stacforge_no_index,
    "pystac": build_pystac,
    "pystac-hrefs": build_pystac_hrefs,
}
OURS = ("stacforge", "stacforge-no-index")
BASELINES = ("pystac", "pystac-hrefs")
PYSTAC_PHASES = ("tree", "extents", "normalize_hrefs", "save")


@dataclass
class Run:
    """One measured build, as stored in the JSON results (see :class:`common.Measurement`)."""

    tool: str
    locations: int
    repeat: int
    items: int | None
    seconds: float | None
    user_seconds: float | None
    system_seconds: float | None
    elapsed: float
    items_per_s: float | None
    peak_rss: int
    start_rss: int
    output_bytes: int
    files: int
    progress: list[Progress] = field(default_factory=list)
    rss_trace: list[tuple[float, int]] = field(default_factory=list)
    error: str | None = None
    process_peak_rss: int = 0
    """Peak RSS of the build's own process; ``peak_rss`` adds its index process."""
    helper_peak_rss: int = 0
    """Peak RSS of the index process (the largest process the build started)."""

    @property
    def phases(self) -> dict[str, float]:
        """Seconds from the start of the build to the end of each phase."""
        return {p.phase: p.seconds for p in self.progress}


def bench(
    locations: int,
    *,
    tools: Sequence[str],
    repeat: int,
    repeat_under: float,
    work: Path,
    max_rss: int,
    timeout: float,
) -> list[Run]:
    """Builds one sample of ``locations`` with every tool, ``repeat`` times, alternating order.

    A tool is not repeated once one of its runs failed or took longer than ``repeat_under``
    seconds: slow runs are long enough for noise to matter little.
    """
    source = write_sample(work / f"{DATASET}-{locations}", count=locations, seed=0)
    runs: list[Run] = []
    try:
        for r in range(repeat):
            # Alternate which tool goes first, so slow drift of a shared machine hits all.
            for tool in tools if r % 2 == 0 else tools[::-1]:
                previous = [run for run in runs if run.tool == tool]
                if previous and (previous[-1].error or previous[-1].elapsed > repeat_under):
                    continue
                run = _measure_build(tool, locations, r, source, work / "out", max_rss, timeout)
                runs.append(run)
                print(_describe(run), file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(source, ignore_errors=True)
    return runs


def _measure_build(
    tool: str, locations: int, repeat: int, source: Path, out: Path, max_rss: int, timeout: float
) -> Run:
    """One build into ``out`` in its own process; ``out`` is deleted afterwards."""
    try:
        m = measure(TOOLS[tool], source, out / "catalog", max_rss=max_rss, timeout=timeout)
        size, files = tree_size(out)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return Run(
        tool=tool,
        locations=locations,
        repeat=repeat,
        items=m.result,
        seconds=m.seconds,
        user_seconds=m.user_seconds,
        system_seconds=m.system_seconds,
        elapsed=m.elapsed,
        items_per_s=m.result / m.seconds if m.result and m.seconds else None,
        peak_rss=m.peak_rss,
        process_peak_rss=m.process_peak_rss,
        helper_peak_rss=m.helper_peak_rss,
        start_rss=m.start_rss,
        output_bytes=size,
        files=files,
        progress=m.progress,
        rss_trace=_thin(m.trace, 200),
        error=m.error,
    )


def _thin(samples: list[tuple[float, int]], most: int) -> list[tuple[float, int]]:
    step = max(1, -(-len(samples) // most))
    return [(round(t, 2), rss) for t, rss in samples[::step]]


def _describe(run: Run) -> str:
    head = f"{run.locations:>7,} locations  {run.tool:<18} #{run.repeat}"
    if run.error or run.seconds is None or run.items_per_s is None:
        return f"{head}  {run.error} after {run.elapsed:.0f} s; peak {run.peak_rss / MIB:,.0f} MiB"
    return (
        f"{head}  {run.seconds:8.1f} s  {run.items_per_s:8.0f} items/s  "
        f"peak {run.peak_rss / MIB:,.0f} MiB  {run.output_bytes / 1e6:,.0f} MB"
    )


def summarize(runs: list[Run]) -> list[dict[str, Any]]:
    """Per number of locations: each tool's figures, and each stacforge build's ratios to each
    baseline."""
    rows: list[dict[str, Any]] = []
    for locations in sorted({run.locations for run in runs}):
        items = locations * ITEMS_PER_LOCATION
        row: dict[str, Any] = {"locations": locations, "items": items}
        for tool in TOOLS:
            if tool_runs := [r for r in runs if r.locations == locations and r.tool == tool]:
                row[tool] = _summarize_tool(tool_runs, items)
        row["ratios"] = [
            {"stacforge": ours, "baseline": baseline, **_ratios(row[ours], row[baseline], items)}
            for ours in OURS
            for baseline in BASELINES
            if "items_per_s" in row.get(ours, {}) and baseline in row
        ]
        rows.append(row)
    return rows


def _summarize_tool(runs: list[Run], items: int) -> dict[str, Any]:
    """Medians over finished runs; for a stopped run, how far it got and where it was heading."""
    done = [r for r in runs if r.seconds is not None and r.items_per_s is not None]
    summary: dict[str, Any]
    if done:
        summary = {
            "runs": len(done),
            "seconds": statistics.median(r.seconds for r in done if r.seconds is not None),
            "user_seconds": statistics.median(r.user_seconds or 0.0 for r in done),
            "system_seconds": statistics.median(r.system_seconds or 0.0 for r in done),
            "cpu_seconds": statistics.median(
                (r.user_seconds or 0.0) + (r.system_seconds or 0.0) for r in done
            ),
            "items_per_s": statistics.median(r.items_per_s for r in done if r.items_per_s),
            "peak_rss": max(r.peak_rss for r in done),
            "process_peak_rss": max(r.process_peak_rss for r in done),
            "helper_peak_rss": max(r.helper_peak_rss for r in done),
            "rss_growth": max(r.peak_rss - r.start_rss for r in done),
            "output_bytes": done[0].output_bytes,
            "files": done[0].files,
        }
    else:
        run = runs[0]
        summary = {
            "stopped": run.error,
            "elapsed": run.elapsed,
            "phase": run.progress[-1].phase if run.progress else None,
            "peak_rss": run.peak_rss,
            "rss_growth": run.peak_rss - run.start_rss,
            "projected_seconds": _projected_seconds(run, items),
        }
    tree = {p.items: p.rss for p in runs[0].progress if p.phase == "tree"}
    if len(tree) >= 3:  # RSS while the pystac tree fills: a straight line in the item count
        slope, intercept = statistics.linear_regression(
            [float(n) for n in tree], [float(rss) for rss in tree.values()]
        )
        summary["tree_rss_per_item"] = slope
        summary["projected_tree_rss"] = intercept + slope * items
    return summary


def _projected_seconds(run: Run, items: int) -> float | None:
    """Total time of a run stopped while saving, at the rate it was saving files."""
    saving = [(p.seconds, p.items) for p in run.progress if p.phase == "saving"]
    if len(saving) < 2 or run.progress[-1].phase != "saving":
        return None
    (t0, n0), (t1, n1) = saving[0], saving[-1]
    return t1 + (items - n1) * (t1 - t0) / (n1 - n0)


def _ratios(reference: dict[str, Any], baseline: dict[str, Any], items: int) -> dict[str, Any]:
    """stacforge's speed-up (wall items/s, and CPU time), and the baseline's peak RSS over ours.

    A stopped baseline needed more than the time it had run, so the speed-up is at least
    stacforge's items/s times that time over all items.
    """
    speed = reference["items_per_s"]
    ratios: dict[str, Any] = {"rss": baseline["peak_rss"] / reference["peak_rss"]}
    if "items_per_s" in baseline:
        ratios["speed"] = speed / baseline["items_per_s"]
        ratios["cpu"] = baseline["cpu_seconds"] / reference["cpu_seconds"]
    else:
        ratios["speed_at_least"] = speed * baseline["elapsed"] / items
        if projected := baseline.get("projected_seconds"):
            ratios["speed_projected"] = speed * projected / items
    return ratios


def markdown(summary: list[dict[str, Any]], runs: list[Run], facts: dict[str, Any]) -> str:
    """The results as Markdown: ratios, per-build figures, and the pystac builds' phases."""
    ratio_rows = [
        [
            row["locations"],
            ratios["stacforge"],
            ratios["baseline"],
            _speed_ratio(ratios),
            f"{ratios['cpu']:.1f}x" if "cpu" in ratios else "-",
            f"{ratios['rss']:.1f}x",
        ]
        for row in summary
        for ratios in row["ratios"]
    ]
    build_rows = []
    for row in summary:
        for tool in TOOLS:
            if (t := row.get(tool)) is None:
                continue
            if "stopped" in t:
                wall = f"> {t['elapsed']:,.0f} ({t['stopped']} in {t['phase']})"
                if t["projected_seconds"]:
                    wall += f"; projected {t['projected_seconds']:,.0f}"
                peak = _mib(t["peak_rss"])
                build_rows.append([row["locations"], tool, wall, *"---", peak, *"---"])
                continue
            build_rows.append(
                [
                    row["locations"],
                    tool,
                    round(t["seconds"], 1),
                    round(t["user_seconds"], 1),
                    round(t["system_seconds"], 1),
                    round(t["items_per_s"]),
                    _mib(t["peak_rss"]),
                    _mib(t["rss_growth"]),
                    round(t["output_bytes"] / 1e6),
                    t["runs"],
                ]
            )
    # The sidecars' cost: a build with them against the same build without, in the same run.
    sidecar_rows = [
        [
            row["locations"],
            round(row["stacforge"]["items_per_s"]),
            round(row["stacforge-no-index"]["items_per_s"]),
            f"{row['stacforge']['items_per_s'] / row['stacforge-no-index']['items_per_s']:.2f}x",
            f"{row['stacforge']['cpu_seconds'] / row['stacforge-no-index']['cpu_seconds']:.2f}x",
            _mib(row["stacforge"]["peak_rss"]),
            _mib(row["stacforge"]["process_peak_rss"]),
            _mib(row["stacforge"]["helper_peak_rss"]),
        ]
        for row in summary
        if "items_per_s" in row.get("stacforge", {})
        and "items_per_s" in row.get("stacforge-no-index", {})
    ]
    phase_rows = [
        [
            run.locations,
            run.tool,
            *(round(run.phases[p], 1) if p in run.phases else "-" for p in PYSTAC_PHASES),
        ]
        for run in runs
        if run.tool in BASELINES
    ]
    return "".join(
        [
            f"Measured {facts['date']} on {facts['cpu']} ({facts['cores']} cores, "
            f"{facts['memory_gib']} GiB), Python {facts['python']}, pystac {facts['pystac']}, "
            f"commit {facts['commit']}; load average at start {facts['load_average']}.\n\n",
            markdown_table(
                [
                    "locations",
                    "stacforge build",
                    "baseline",
                    "items/s: stacforge / baseline",
                    "CPU s: baseline / stacforge",
                    "peak RSS: baseline / stacforge",
                ],
                ratio_rows,
            ),
            "\n",
            markdown_table(
                [
                    "locations",
                    "build",
                    "wall s",
                    "user s",
                    "sys s",
                    "items/s",
                    "peak RSS MiB",
                    "RSS growth MiB",
                    "output MB",
                    "runs",
                ],
                build_rows,
            ),
            "\nThe sidecars' cost (stacforge with indexes against `--no-index`, medians; peak RSS"
            " of the build and its index process added up, and of each alone):\n\n",
            markdown_table(
                [
                    "locations",
                    "items/s with indexes",
                    "items/s without",
                    "with / without",
                    "CPU s: with / without",
                    "peak RSS MiB, both",
                    "build process",
                    "index process",
                ],
                sidecar_rows,
            ),
            "\npystac builds, seconds from the start to the end of each phase:\n\n",
            markdown_table(["locations", "build", *PYSTAC_PHASES], phase_rows),
        ]
    )


def _speed_ratio(ratios: dict[str, Any]) -> str:
    if "speed" in ratios:
        return f"{ratios['speed']:.1f}x"
    if "speed_at_least" in ratios:
        projected = ratios.get("speed_projected")
        return f">= {ratios['speed_at_least']:.0f}x" + (
            f" (projected {projected:.0f}x)" if projected else ""
        )
    return "-"


def _mib(size: int) -> int:
    return round(size / MIB)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--locations", type=int, nargs="+", default=[1000, 10_000, 50_000], metavar="N"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per build and size")
    parser.add_argument(
        "--repeat-under",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="repeat only builds whose previous run took less",
    )
    parser.add_argument("--tools", nargs="+", choices=list(TOOLS), default=list(TOOLS))
    parser.add_argument("--work-dir", type=Path, default=Path(__file__).parent / ".data")
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).parent / "results" / "build",
        help="writes OUTPUT.json and OUTPUT.md",
    )
    parser.add_argument(
        "--max-rss-gib", type=float, default=16.0, help="stop a build whose RSS exceeds this"
    )
    parser.add_argument(
        "--timeout-min", type=float, default=120.0, help="stop a build that runs longer"
    )
    args = parser.parse_args(argv)
    # Let `kill` unwind like Ctrl-C does: measured children are stopped, outputs removed.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    facts = {
        "date": datetime.date.today().isoformat(),
        **machine(),
        "pystac": pystac.__version__,
        "stacforge_source": str(Path(stacforge.__file__).parent),
    }
    args.work_dir.mkdir(parents=True, exist_ok=True)
    # A private folder: other benchmarks may share the work directory at the same time.
    work = Path(tempfile.mkdtemp(prefix="build-", dir=args.work_dir))
    runs: list[Run] = []
    try:
        for locations in args.locations:
            runs.extend(
                bench(
                    locations,
                    tools=args.tools,
                    repeat=args.repeat,
                    repeat_under=args.repeat_under,
                    work=work,
                    max_rss=int(args.max_rss_gib * GIB),
                    timeout=args.timeout_min * 60,
                )
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    facts["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    summary = summarize(runs)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".json").write_text(
        json.dumps(
            {"machine": facts, "summary": summary, "runs": [asdict(r) for r in runs]}, indent=1
        )
        + "\n"
    )
    table = markdown(summary, runs, facts)
    args.output.with_suffix(".md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
