"""Plots ``benchmarks/results/<name>.json`` into ``docs/img/bench-<name>.png`` for the docs.

Each results file has a ``summary``: one entry per size (and query), each with the measured
cases (``cases``, ``methods``, or one key per tool) holding ``seconds`` and ``peak_rss``. Each
plot shows wall time (log scale) and peak memory per case, grouped by size. A case that did not
run at a size (no runs, no time) is left out there. Files of another shape are skipped and said
so. Usage: ``python scripts/plot_benchmarks.py [RESULTS_DIR] [OUT_DIR]``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

ROOT = Path(__file__).resolve().parents[1]


def cases(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The measured cases of one summary entry that ran: name -> numbers."""
    found = entry.get("cases") or entry.get("methods")
    if found is None:
        found = {key: value for key, value in entry.items() if isinstance(value, dict)}
    return {
        name: numbers
        for name, numbers in found.items()
        if isinstance(numbers, dict) and numbers.get("seconds") and numbers.get("runs", 1)
    }


def group_name(entry: dict[str, Any]) -> str:
    """The label of a summary entry: its size, and its query where there is one."""
    size = entry.get("items") or entry.get("locations")
    unit = "items" if "items" in entry else "locations"
    name = f"{size:,} {unit}" if isinstance(size, int) else str(size)
    return f"{entry['query']}, {name}" if "query" in entry else name


def plot(name: str, summary: list[dict[str, Any]], out: Path) -> None:
    """One figure: seconds and peak memory per case, a group of bars per summary entry."""
    groups = [group_name(entry) for entry in summary]
    names = list(dict.fromkeys(case for entry in summary for case in cases(entry)))
    figure = Figure(figsize=(11.0, 4.2 + 0.15 * len(names)), layout="constrained")
    time_axes, memory_axes = figure.subplots(1, 2)
    width = 0.8 / len(names)
    positions = np.arange(len(groups))
    for number, case in enumerate(names):
        seconds = [cases(entry).get(case, {}).get("seconds", np.nan) for entry in summary]
        memory = [cases(entry).get(case, {}).get("peak_rss", np.nan) for entry in summary]
        offset = (number - (len(names) - 1) / 2) * width
        colour = f"C{number % 10}"
        time_axes.bar(positions + offset, seconds, width, color=colour, label=case)
        memory_axes.bar(
            positions + offset, np.array(memory, dtype=float) / 2**20, width, color=colour
        )
    for axes, label in ((time_axes, "wall time (s, log scale)"), (memory_axes, "peak RSS (MiB)")):
        axes.set_xticks(positions, groups, rotation=20 if len(groups) > 3 else 0, ha="right")
        axes.set_ylabel(label)
        axes.grid(axis="y", alpha=0.3)
    time_axes.set_yscale("log")
    figure.legend(loc="outside lower center", ncols=min(len(names), 4), fontsize="small")
    figure.suptitle(f"benchmarks/results/{name}.json")
    figure.savefig(out, format="png", dpi=90, metadata={"Software": None})


def main(argv: list[str]) -> None:
    results = Path(argv[0]) if argv else ROOT / "benchmarks" / "results"
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "docs" / "img"
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(results.glob("*.json")):
        summary = json.loads(path.read_text()).get("summary")
        if not isinstance(summary, list) or not any(cases(entry) for entry in summary):
            print(f"skipped {path}: no summary of timed cases", file=sys.stderr)
            continue
        target = out / f"bench-{path.stem}.png"
        plot(path.stem, [entry for entry in summary if cases(entry)], target)
        print(target)


if __name__ == "__main__":
    main(sys.argv[1:])
