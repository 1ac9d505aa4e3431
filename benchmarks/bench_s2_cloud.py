"""s2-cloud reader benchmark: records/s and MB/s of stacforge's TFRecord reader against the
floor of reading the same bytes and computing their CRC32C, and against the ``tfrecord``
package (a TensorFlow-free reader that decodes features but checks no checksum), same run.

Input is made up once per run in the dataset's layout (real TFRecord files of real
``tf.train.Example`` records with 5 to 100 time steps of 4 x 42 x 42 uint16, and one ``.7z``
holding some of them), under ``benchmarks/.data/``; every measured run happens in its own
process (see :func:`common.measure`), in alternating order on every repeat. From the project
root:

    .venv/bin/python benchmarks/bench_s2_cloud.py --records 800 --archive-records 150

writes ``benchmarks/results/s2-cloud.json`` and ``s2-cloud.md``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import google_crc32c
import numpy as np
import py7zr
from py7zr.io import Py7zIO, WriterFactory

from common import GIB, MIB, Measurement, machine, markdown_table, measure
from stacforge.datasets.s2_cloud import reader
from stacforge.datasets.s2_cloud.sample import make_example
from stacforge.datasets.s2_cloud.tfrecord import write_records
from stacforge.parallel import ordered_map

Report = Callable[[str, int], None]
CHUNK = 4 * MIB
TILES = ("50TMK", "51RUQ", "49SGV", "50RKV", "48RYU", "47QMG")
FEATURES = {
    "localid": "int",
    "image_raw_ldseries": "byte",
    "labels": "byte",
    "dates": "byte",
    "weights": "byte",
}


# --- input ---------------------------------------------------------------------------------


def write_input(folder: Path, records: int, files: int, archived: int, seed: int) -> None:
    """``files`` TFRecord files of ``records`` records in all, plus two ``.7z`` archives of one
    more file each, of ``archived`` records in all."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    plain = folder / "plain"
    plain.mkdir()
    sizes = [records // files + (i < records % files) for i in range(files)]
    for i, size in enumerate(sizes):
        tile = TILES[i % len(TILES)]
        _write_file(plain / f"{('train', 'val')[i % 2]}_{tile}_{size}", size, rng)
    packed = folder / "packed"
    packed.mkdir()
    for part, size in enumerate((archived // 2, archived - archived // 2), start=1):
        member = folder / f"train_{TILES[-part]}_{size}"
        _write_file(member, size, rng)
        with py7zr.SevenZipFile(packed / f"part{part:02d}.7z", "w") as archive:
            archive.write(member, f"tfrecords/{member.name}")
        member.unlink()


def _write_file(path: Path, count: int, rng: np.random.Generator) -> None:
    def examples() -> Any:
        for localid in range(count):
            steps = int(rng.integers(5, 101))
            start = 736_695 + int(rng.integers(0, 365))  # 2018
            level = rng.integers(300, 3000, size=(steps, 4, 1, 1))
            images = level + rng.integers(0, 64, size=(steps, 4, 42, 42))
            yield make_example(
                localid,
                images,
                rng.integers(0, 6, size=steps),
                np.arange(start, start + 5 * steps, 5),
                np.ones(steps),
            ).SerializeToString()

    with path.open("wb") as f:
        write_records(f, examples())


# --- measured runs (module level: they run in spawned processes) -----------------------------


def floor_crc32c(paths: list[str], report: Report) -> dict[str, int]:
    """Reads every byte once and computes its CRC32C: what any checked reader must do."""
    size = 0
    for path in paths:
        crc = 0
        with open(path, "rb", buffering=0) as f:
            while chunk := f.read(CHUNK):
                crc = google_crc32c.extend(crc, chunk)
                size += len(chunk)
    report("done", 0)
    return {"bytes": size, "records": 0}


def stacforge_read(paths: list[str], workers: int, report: Report) -> dict[str, int]:
    """stacforge's reader: framing, both checksums, Example decoding and layout checks."""
    inputs = [reader.Input(Path(p), Path(p).name) for p in paths]
    records = 0
    for results in ordered_map(reader.read_input, inputs, workers=workers):
        for result in results:
            if isinstance(result, Exception):
                raise result
            records += 1
    report("done", records)
    return {"bytes": sum(Path(p).stat().st_size for p in paths), "records": records}


def stacforge_read_1(paths: list[str], report: Report) -> dict[str, int]:
    return stacforge_read(paths, 1, report)


def stacforge_read_2(paths: list[str], report: Report) -> dict[str, int]:
    return stacforge_read(paths, 2, report)


def tfrecord_package(paths: list[str], report: Report) -> dict[str, int]:
    """The ``tfrecord`` package's loader decoding the same five features (no checksums)."""
    import tfrecord

    records = 0
    for path in paths:
        for _ in tfrecord.tfrecord_loader(path, None, FEATURES):
            records += 1
    report("done", records)
    return {"bytes": sum(Path(p).stat().st_size for p in paths), "records": records}


def _second_pass(run: Callable[..., dict[str, int]], paths: list[str]) -> dict[str, Any]:
    """Runs ``run`` twice in this process and reports the second run's time and CPU time: the
    steady state of a long build, whose processes have grown their heap (a fresh process pays
    a page fault for every new page its first large allocations touch)."""
    run(paths, lambda phase, items: None)
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    result: dict[str, Any] = dict(run(paths, lambda phase, items: None))
    after = resource.getrusage(resource.RUSAGE_SELF)
    result["seconds"] = time.perf_counter() - started
    result["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def floor_crc32c_warm(paths: list[str], report: Report) -> dict[str, Any]:
    return _second_pass(floor_crc32c, paths)


def stacforge_read_1_warm(paths: list[str], report: Report) -> dict[str, Any]:
    return _second_pass(stacforge_read_1, paths)


def tfrecord_package_warm(paths: list[str], report: Report) -> dict[str, Any]:
    return _second_pass(tfrecord_package, paths)


class _CrcSink(reader.WriteOnlySink):
    """A py7zr sink that only computes the CRC32C of what it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.crc = 0

    def take(self, data: bytes) -> None:
        self.crc = google_crc32c.extend(self.crc, data)


class _CrcSinks(WriterFactory):
    def __init__(self) -> None:
        self.sinks: list[_CrcSink] = []

    def create(self, filename: str) -> Py7zIO:
        self.sinks.append(_CrcSink())
        return self.sinks[-1]


def floor_7z_crc32c(archives: list[str], report: Report) -> dict[str, int]:
    """Decompresses the archives' members (py7zr) and computes their CRC32C."""
    sinks = _CrcSinks()
    for archive in archives:
        with open(archive, "rb") as stream, py7zr.SevenZipFile(stream) as z:
            z.extractall(factory=sinks)
    report("done", 0)
    return {"bytes": sum(s.received for s in sinks.sinks), "records": 0}


def _archive_input(archive: str) -> tuple[reader.Input, int]:
    path = Path(archive)
    with py7zr.SevenZipFile(path) as z:
        members = tuple(f.filename for f in z.files if not f.is_directory)
        size = sum(f.uncompressed for f in z.files if not f.is_directory)
    return reader.Input(path, path.name, members), size


def stacforge_read_7z(archives: list[str], workers: int, report: Report) -> dict[str, int]:
    """stacforge's reader on the archives: py7zr sinks feeding the TFRecord splitter."""
    inputs, sizes = zip(*(_archive_input(a) for a in archives), strict=True)
    records = 0
    for results in ordered_map(reader.read_input, inputs, workers=workers):
        for result in results:
            if isinstance(result, Exception):
                raise result
            records += 1
    report("done", records)
    return {"bytes": sum(sizes), "records": records}


def stacforge_read_7z_1(archives: list[str], report: Report) -> dict[str, int]:
    return stacforge_read_7z(archives, 1, report)


def stacforge_read_7z_2(archives: list[str], report: Report) -> dict[str, int]:
    return stacforge_read_7z(archives, 2, report)


def stacforge_build(source: str, out: str, report: Report) -> dict[str, int]:
    """The whole build (catalog and index) from the plain files, two workers."""
    import stacforge

    result = stacforge.build("s2-cloud", source, out, workers=2, overwrite=True)
    items = sum(result.items.values())
    report("done", items)
    size = sum(p.stat().st_size for p in Path(source).rglob("*") if p.is_file())
    shutil.rmtree(out)
    return {"bytes": size, "records": items}


# --- driver --------------------------------------------------------------------------------

PARALLEL = {
    "stacforge_read_2": stacforge_read_2,
    "stacforge_read_7z_2": stacforge_read_7z_2,
    "stacforge_build": stacforge_build,
}
"""Runs that start a process pool: ``common.measure``'s children are daemons, which may not
have children, so these run as a fresh interpreter (``--child``) that reports its own time and
the peak RSS of itself plus its largest worker (no CPU time: the pool's workers are children of
the forkserver, which this process cannot account for)."""


def measure_detached(name: str, *args: Any, timeout: float) -> Measurement:
    """Runs ``PARALLEL[name](*args)`` in a fresh interpreter and reads what it reports."""
    command = [sys.executable, __file__, "--child", name, json.dumps(args)]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        return Measurement(elapsed=time.perf_counter() - started, error=str(error).strip())
    reported = json.loads(done.stdout.strip().splitlines()[-1])
    return Measurement(
        result=reported["result"],
        seconds=reported["seconds"],
        elapsed=time.perf_counter() - started,
        peak_rss=reported["peak_rss"],
        start_rss=reported["start_rss"],
    )


def _child(name: str, arguments: str) -> None:
    start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    started = time.perf_counter()
    result = PARALLEL[name](*json.loads(arguments), lambda phase, items: None)
    seconds = time.perf_counter() - started
    peak = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    ) * 1024
    report = {
        "result": result,
        "seconds": seconds,
        "peak_rss": peak,
        "start_rss": start_rss,
    }
    print(json.dumps(report))


def _cpu(m: Measurement) -> float | None:
    if m.user_seconds is None or m.system_seconds is None:
        return None
    return m.user_seconds + m.system_seconds


def main(argv: Sequence[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--child"]:
        _child(argv[1], argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--records", type=int, default=800, help="records in the plain files")
    parser.add_argument("--files", type=int, default=4, help="plain TFRecord files")
    parser.add_argument(
        "--archive-records", type=int, default=150, help="records in the two .7z archives"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-rss-gib", type=float, default=4.0)
    parser.add_argument("--timeout-min", type=float, default=30.0)
    parser.add_argument("--work-dir", type=Path, default=Path(__file__).parent / ".data")
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)

    work = args.work_dir / "s2-cloud"
    if work.exists():
        shutil.rmtree(work)
    try:
        # Made in a process of its own: measured children fork from this one, and Linux counts
        # the parent's RSS at fork in the children's peak RSS.
        context = multiprocessing.get_context("spawn")
        writer = context.Process(
            target=write_input,
            args=(work / "input", args.records, args.files, args.archive_records, args.seed),
        )
        writer.start()
        writer.join()
        if writer.exitcode != 0:
            raise SystemExit("could not write the benchmark input")
        plain = sorted(str(p) for p in (work / "input" / "plain").iterdir())
        archives = sorted(str(p) for p in (work / "input" / "packed").iterdir())
        runs: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {
            "floor: read + CRC32C": (floor_crc32c, (plain,)),
            "stacforge reader, 1 process": (stacforge_read_1, (plain,)),
            "stacforge reader, 2 processes": (stacforge_read_2, (plain,)),
            "tfrecord package (no checksums)": (tfrecord_package, (plain,)),
            "floor, second pass": (floor_crc32c_warm, (plain,)),
            "stacforge reader, 1 process, second pass": (stacforge_read_1_warm, (plain,)),
            "tfrecord package, second pass": (tfrecord_package_warm, (plain,)),
            "stacforge build (catalog + index)": (
                stacforge_build,
                (str(work / "input" / "plain"), str(work / "out")),
            ),
            "floor: 7z decompress + CRC32C": (floor_7z_crc32c, (archives,)),
            "stacforge reader, 7z, 1 process": (stacforge_read_7z_1, (archives,)),
            "stacforge reader, 7z, 2 processes": (stacforge_read_7z_2, (archives,)),
        }
        try:
            import tfrecord  # noqa: F401
        except ImportError:
            del runs["tfrecord package (no checksums)"]
            del runs["tfrecord package, second pass"]
        measured: dict[str, list[Measurement]] = {name: [] for name in runs}
        for repeat in range(args.repeat):
            names = list(runs) if repeat % 2 == 0 else list(reversed(runs))
            for name in names:
                fn, fn_args = runs[name]
                if fn.__name__ in PARALLEL:
                    m = measure_detached(fn.__name__, *fn_args, timeout=args.timeout_min * 60)
                else:
                    m = measure(
                        fn,
                        *fn_args,
                        max_rss=int(args.max_rss_gib * GIB),
                        timeout=args.timeout_min * 60,
                    )
                measured[name].append(m)
                print(
                    f"{name}: {m.seconds and round(m.seconds, 2)} s {m.error or ''}",
                    file=sys.stderr,
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rows = []
    floors: dict[str, tuple[float, float, float]] = {}
    summary: dict[str, Any] = {}
    for name, ms in measured.items():
        done = [m for m in ms if m.seconds is not None]
        if not done:
            rows.append([name, *["-"] * 10, ms[0].error or "failed"])
            continue
        times = [m.result.get("seconds", m.seconds) for m in done if m.seconds is not None]
        best, median = min(times), statistics.median(times)
        cpus = [c for m in done if (c := m.result.get("cpu", _cpu(m))) is not None]
        cpu = min(cpus) if cpus else None
        result = done[0].result
        group = "7z" if "7z" in name else "warm" if "second pass" in name else "plain"
        if name.startswith("floor"):
            floors[group] = (best, median, cpu or 0.0)
        floor = floors.get(group)
        summary[name] = {**result, "best": best, "median": median, "cpu": cpu, "seconds": times}
        rows.append(
            [
                name,
                result["records"] or "-",
                round(result["bytes"] / MIB, 1),
                round(best, 2),
                round(median, 2),
                round(result["records"] / best, 1) if result["records"] else "-",
                round(result["bytes"] / MIB / best, 1),
                round(best / floor[0], 2) if floor else "-",
                round(median / floor[1], 2) if floor else "-",
                round(cpu, 2) if cpu is not None else "-",
                round(cpu / floor[2], 2) if floor and cpu is not None and floor[2] else "-",
                f"{max(m.peak_rss for m in done) / MIB:,.0f} MiB",
            ]
        )
    table = markdown_table(
        [
            "run",
            "records",
            "MiB",
            "s (best)",
            "s (median)",
            "records/s (best)",
            "MiB/s (best)",
            "x floor (best)",
            "x floor (median)",
            "CPU s (best)",
            "x floor (CPU)",
            "peak RSS",
        ],
        rows,
    )
    facts = machine()
    text = (
        f"Input: {args.records:,} records in {args.files} TFRecord files and "
        f"{args.archive_records:,} records in two .7z archives; {args.repeat} runs each; "
        f"{datetime.date.today().isoformat()}, {facts['cpu']}, {facts['cores']} cores, "
        f"load {facts['load_average']}.\n\n{table}"
    )
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "s2-cloud.md").write_text(text, encoding="utf-8")
    (args.output / "s2-cloud.json").write_text(
        json.dumps(
            {
                "machine": facts,
                "arguments": {k: str(v) for k, v in vars(args).items()},
                "summary": summary,
                "runs": {
                    name: [{k: v for k, v in asdict(m).items() if k != "trace"} for m in ms]
                    for name, ms in measured.items()
                },
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    print(text)


if __name__ == "__main__":
    main()
