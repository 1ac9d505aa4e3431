"""The command line: `stacforge ...` and the same group through the stactools `stac` plugin."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import click
from click.testing import CliRunner

from stacforge.cli import cli


def test_stac_plugin_mounts_the_same_commands() -> None:
    stac = Path(sys.executable).with_name("stac")
    result = subprocess.run(
        [stac, "stacforge", "--help"], capture_output=True, text=True, check=True
    )
    commands = cli.list_commands(click.Context(cli))
    assert {"build", "crawl", "index", "sample", "search", "serve", "validate"} <= set(commands)
    for command in commands:
        assert command in result.stdout


def test_sample_then_build_then_refuse_to_overwrite(runner: CliRunner, tmp_path: Path) -> None:
    source, out = tmp_path / "source", tmp_path / "catalog"
    result = runner.invoke(cli, ["sample", "rapidai4eo", str(source), "--locations", "10"])
    assert result.exit_code == 0, result.output

    result = runner.invoke(cli, ["build", "rapidai4eo", str(source), str(out)])
    assert result.exit_code == 0, result.output
    assert "30 items" in result.stdout
    assert (out / "catalog.json").is_file()

    result = runner.invoke(cli, ["build", "rapidai4eo", str(source), str(out)])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: {out}: already exists (use --overwrite to replace it)"
    result = runner.invoke(cli, ["build", "rapidai4eo", str(source), str(out), "--overwrite"])
    assert result.exit_code == 0, result.output


def test_build_bad_input_is_one_line_on_stderr(runner: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "source"
    runner.invoke(cli, ["sample", "rapidai4eo", str(source), "--locations", "5"])
    (source / "rapidai4eo_labels.csv.gz").write_text("sample_id,clc_111\n")
    result = runner.invoke(cli, ["build", "rapidai4eo", str(source), str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "rapidai4eo_labels.csv.gz: not a gzip file" in result.stderr
    assert not (tmp_path / "out").exists()


def test_sigterm_stops_a_build_without_leaving_a_partial_catalog(
    runner: CliRunner, tmp_path: Path
) -> None:
    source, out = tmp_path / "source", tmp_path / "out"
    runner.invoke(cli, ["sample", "rapidai4eo", str(source), "--locations", "2000"])
    stacforge = Path(sys.executable).with_name("stacforge")
    build = subprocess.Popen([stacforge, "build", "rapidai4eo", str(source), str(out)])
    deadline = time.monotonic() + 60
    while not any(tmp_path.glob(".out.*.partial/*/*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    build.send_signal(signal.SIGTERM)
    assert build.wait(timeout=60) == 128 + signal.SIGTERM
    assert not out.exists()
    assert not list(tmp_path.glob(".out.*"))


def test_a_datasets_own_options_show_in_its_help_and_are_checked(
    runner: CliRunner, tmp_path: Path
) -> None:
    help_text = runner.invoke(cli, ["build", "breizhcrops", "--help"]).output
    for option in ("--year INTEGER", "--level [L1C|L2A]", "--regions A,B,..."):
        assert option in help_text
    assert "[default: 2017]" in help_text
    (tmp_path / "source").mkdir()
    wrong = runner.invoke(
        cli,
        ["build", "breizhcrops", str(tmp_path / "source"), str(tmp_path / "out"), "--level", "L3"],
    )
    assert wrong.exit_code == 2 and "'L3' is not one of 'L1C', 'L2A'" in wrong.stderr
    assert not (tmp_path / "out").exists()
