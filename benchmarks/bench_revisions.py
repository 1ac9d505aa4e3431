"""Runs a benchmark script of two git revisions in turn, alternating which goes first, and
compares their figures: has a change made anything slower or bigger?

Each revision runs from its own worktree (created under ``benchmarks/.data/``) with its own
sources first on ``PYTHONPATH`` and the same virtualenv, so only the code differs. Every round
runs ``base`` then ``head`` (or the reverse, every other round), so a machine that gets busier
during the run weighs on both. From the project root:

    .venv/bin/python benchmarks/bench_revisions.py --base a366c58 --rounds 3 \\
        build --locations 1000 --tools stacforge stacforge-no-index --repeat 1

prints a table of the medians per revision and their ratio, and writes
``benchmarks/results/revisions-<bench>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORK = Path(__file__).parent / ".data"

Key = tuple[str, ...]


def _build_figures(results: dict[str, Any]) -> dict[Key, float]:
    figures: dict[Key, list[float]] = {}
    for run in results["runs"]:
        if run.get("error") or run.get("items_per_s") is None:
            continue
        name = (run["tool"], str(run["locations"]))
        figures.setdefault((*name, "items/s"), []).append(run["items_per_s"])
        cpu = run["user_seconds"] + run["system_seconds"]
        figures.setdefault((*name, "CPU seconds"), []).append(cpu)
        figures.setdefault((*name, "peak RSS MiB"), []).append(run["peak_rss"] / 2**20)
    return {key: statistics.median(values) for key, values in figures.items()}


def _crawl_figures(results: dict[str, Any]) -> dict[Key, float]:
    figures: dict[Key, list[float]] = {}
    for run in results["runs"]:
        if run.get("error") or run.get("seconds") is None:
            continue
        name = (run["name"], str(run["locations"]))
        figures.setdefault((*name, "seconds"), []).append(run["seconds"])
        if run.get("cpu_seconds") is not None:
            figures.setdefault((*name, "CPU seconds"), []).append(run["cpu_seconds"])
        figures.setdefault((*name, "peak RSS MiB"), []).append(run["peak_rss"] / 2**20)
    return {key: statistics.median(values) for key, values in figures.items()}


def _search_figures(results: dict[str, Any]) -> dict[Key, float]:
    figures: dict[Key, list[float]] = {}
    for run in results["runs"]:
        result = run.get("result")
        if run.get("error") or not isinstance(result, dict) or "seconds" not in result:
            continue
        name = (run["name"], run["query"], str(run["locations"]))
        figures.setdefault((*name, "seconds"), []).append(result["seconds"])
    return {key: statistics.median(values) for key, values in figures.items()}


FIGURES: dict[str, Callable[[dict[str, Any]], dict[Key, float]]] = {
    "build": _build_figures,
    "crawl": _crawl_figures,
    "search": _search_figures,
}


def worktree(revision: str) -> Path:
    """A worktree of ``revision`` under ``benchmarks/.data/`` (made once)."""
    commit = (
        subprocess.run(
            ["git", "rev-parse", "--short", revision], cwd=ROOT, check=True, capture_output=True
        )
        .stdout.decode()
        .strip()
    )
    path = WORK / f"revision-{commit}"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(path), commit], cwd=ROOT, check=True
        )
    return path


def run(tree: Path, bench: str, args: Sequence[str]) -> dict[Key, float]:
    """Runs ``benchmarks/bench_<bench>.py`` of ``tree``; returns its figures."""
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        output = Path(tmp) / "out"
        env = {**os.environ, "PYTHONPATH": str(tree / "src")}
        command = [sys.executable, f"benchmarks/bench_{bench}.py", *args, "--output", str(output)]
        subprocess.run(command, cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL)
        return FIGURES[bench](json.loads(output.with_suffix(".json").read_text()))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--base", required=True, help="the revision to compare against")
    parser.add_argument("--head", default="HEAD", help="the revision under test")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("bench", choices=sorted(FIGURES))
    parser.add_argument("args", nargs=argparse.REMAINDER, help="passed to the benchmark script")
    options = parser.parse_args(argv)
    trees = {"base": worktree(options.base), "head": worktree(options.head)}
    samples: dict[str, list[dict[Key, float]]] = {"base": [], "head": []}
    for round_ in range(options.rounds):
        order = ("base", "head") if round_ % 2 == 0 else ("head", "base")
        for side in order:
            samples[side].append(run(trees[side], options.bench, options.args))
            print(f"round {round_ + 1}: {side} done", file=sys.stderr)
    medians = {
        side: {
            key: statistics.median(s[key] for s in runs if key in s) for key in set().union(*runs)
        }
        for side, runs in samples.items()
    }
    rows = []
    for key in sorted(set(medians["base"]) & set(medians["head"])):
        base, head = medians["base"][key], medians["head"][key]
        rows.append(
            {"figure": " / ".join(key), "base": base, "head": head, "head/base": head / base}
        )
    print(f"| figure | {options.base} | {options.head} | {options.head}/{options.base} |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['figure']} | {row['base']:.3f} | {row['head']:.3f} | {row['head/base']:.2f} |"
        )
    result = {"base": options.base, "head": options.head, "args": options.args, "rows": rows}
    out = Path(__file__).parent / "results" / f"revisions-{options.bench}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
