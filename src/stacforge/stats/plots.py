"""The pictures of :class:`~stacforge.stats.figures.LabelStats`, drawn with matplotlib.

Figures are made with :class:`matplotlib.figure.Figure` directly (no pyplot): no global state,
no GUI backend, safe in a library.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from stacforge.stats.figures import MAX_BARS, ClassCount, LabelStats, footprint_rings

_NO_SPLIT = "no split"
_PNG_METADATA: dict[str, str | None] = {"Software": None}  # the same bytes for the same numbers


def plot_classes(stats: LabelStats, path: Path) -> None:
    """A horizontal bar chart of the classes, one bar per split: the summed counts where the
    overviews give counts, else the mean share of the items, else the items with the class."""
    metric, label = _metric(stats.classes)
    totals: dict[tuple[str | None, str], float] = {}
    for entry in stats.classes:
        key = (entry.property_key, entry.name)
        totals[key] = totals.get(key, 0.0) + _value(entry, metric)
    shown = sorted(totals, key=lambda key: (-totals[key], key[0] or "", key[1]))[:MAX_BARS]
    shown.reverse()  # the biggest on top
    splits = list(stats.splits)
    keys = {entry.property_key for entry in stats.classes}

    figure = Figure(figsize=(8.0, 1.6 + 0.3 * max(len(shown), 3)), layout="constrained")
    axes = figure.add_subplot()
    height = 0.8 / len(splits)
    positions = np.arange(len(shown))
    values = {(e.property_key, e.name, e.split): _value(e, metric) for e in stats.classes}
    for number, split in enumerate(splits):
        bars = [values.get((key[0], key[1], split), 0.0) for key in shown]
        offset = ((len(splits) - 1) / 2 - number) * height  # the first split on top
        axes.barh(
            positions + offset,
            bars,
            height=height,
            color=f"C{number}",
            label=f"{split or _NO_SPLIT} ({stats.splits[split]} items)",
        )
    names = [f"{key[0]}: {key[1]}" if len(keys) > 1 else key[1] for key in shown]
    axes.set_yticks(positions, names)
    axes.set_xlabel(label)
    axes.grid(axis="x", alpha=0.3)
    title = f"{stats.collection}: {stats.label_items} label items"
    if len(totals) > len(shown):
        title += f", the {len(shown)} biggest of {len(totals)} classes"
    if not shown:
        axes.set_xticks([])
        axes.text(
            0.5, 0.5, "no label:overviews in these items", ha="center", transform=axes.transAxes
        )
    elif splits != [None]:
        axes.legend(loc="best")
    axes.set_title(title)
    figure.savefig(path, format="png", dpi=100, metadata=_PNG_METADATA)


def _metric(classes: list[ClassCount]) -> tuple[str, str]:
    if any(entry.count is not None for entry in classes):
        return "count", "sum of the label:overviews counts"
    if any(entry.share is not None for entry in classes):
        return "share", "mean share of the items (%)"
    return "items", "label items with the class"


def _value(entry: ClassCount, metric: str) -> float:
    if metric == "count":
        return float(entry.count or 0)
    if metric == "share":
        return 100.0 * (entry.share or 0.0)
    return float(entry.items)


def plot_footprints(stats: LabelStats, path: Path) -> None:
    """The label items on a longitude/latitude grid: their outlines with a dot at each centre
    (a footprint of a few hundred metres is a dot at country scale), coloured by split; for
    big collections the grid of :attr:`LabelStats.footprints` as a density map."""
    west, south, east, north = stats.bbox
    if west > east:  # across the antimeridian: show the whole width
        west, east = -180.0, 180.0
    pad = max(0.5, 0.05 * max(east - west, north - south))
    west, east = max(west - pad, -180.0), min(east + pad, 180.0)
    south, north = max(south - pad, -90.0), min(north + pad, 90.0)
    # Equal distances on both axes at the middle latitude, as far as a flat lon/lat map can.
    aspect = 1.0 / max(math.cos(math.radians((south + north) / 2)), 0.1)
    width = 8.0
    height = min(max(width * (north - south) * aspect / (east - west), 3.0), 10.0) + 1.0

    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.add_subplot()
    rings = footprint_rings(stats)
    if rings:
        splits = list(stats.splits)
        for number, split in enumerate(splits):
            mine = [ring for ring_split, ring in rings if ring_split == split]
            colour = f"C{number}"
            axes.add_collection(
                PolyCollection(
                    mine, facecolors=colour, edgecolors=colour, alpha=0.5, linewidths=0.5
                )
            )
            centres = np.array([ring[:-1].mean(axis=0) for ring in mine])
            axes.scatter(
                centres[:, 0],
                centres[:, 1],
                s=9,
                color=colour,
                label=f"{split or _NO_SPLIT} ({stats.splits[split]} items)",
            )
        if splits != [None]:
            axes.legend(loc="best")
        axes.set_title(f"{stats.collection}: footprints of {stats.label_items} label items")
    else:
        grid = stats.footprints
        counts = np.array(grid.items, dtype=float)
        lon = grid.west + grid.step * np.arange(counts.shape[1] + 1)
        lat = grid.south + grid.step * np.arange(counts.shape[0] + 1)
        mesh = axes.pcolormesh(
            lon, lat, np.ma.masked_equal(counts, 0), norm=LogNorm(), cmap="viridis"
        )
        figure.colorbar(mesh, ax=axes, label=f"label items per {grid.step:g}° cell")
        axes.set_title(f"{stats.collection}: {stats.label_items} label items (bbox centres)")
    axes.set_xlim(west, east)
    axes.set_ylim(south, north)
    axes.set_aspect(aspect)
    axes.set_xlabel("longitude (°)")
    axes.set_ylabel("latitude (°)")
    axes.grid(alpha=0.3)
    figure.savefig(path, format="png", dpi=100, metadata=_PNG_METADATA)
