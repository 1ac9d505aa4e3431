"""MkDocs hooks (``hooks:`` in ``mkdocs.yml``): the per-dataset pages find their own way in.

- Every ``docs/datasets/<name>.md`` is listed under "Datasets" and every
  ``docs/benchmarks/<name>.md`` under "Benchmarks", so a new dataset needs no nav edit.
- A dataset page gets a "Pictures" section with what exists for it in ``docs/img/``: the STAC
  Browser screenshot ``<name>-label-item.png`` (written by ``tests/test_stac_browser.py``) and
  the ``stacforge stats`` charts ``stats/<name>/*.png`` (written by ``make pictures``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SECTIONS = {"Datasets": "datasets", "Benchmarks": "benchmarks"}
"""Nav section title -> the docs folder whose pages it lists after its own entries."""


def on_config(config: Any) -> Any:
    """Appends the pages of each folder of :data:`SECTIONS` to its nav section."""
    docs = Path(config["docs_dir"])
    for entry in config["nav"] or []:
        if not isinstance(entry, dict):
            continue
        for title, children in entry.items():
            folder = SECTIONS.get(title)
            if folder is None or not isinstance(children, list):
                continue
            listed = {child for item in children for child in _paths(item)}
            for page in sorted((docs / folder).glob("*.md")):
                uri = page.relative_to(docs).as_posix()
                if uri not in listed:
                    children.append(uri)
    return config


def _paths(item: Any) -> list[str]:
    if isinstance(item, str):
        return [item]
    if isinstance(item, dict):
        return [path for value in item.values() for path in _paths(value)]
    if isinstance(item, list):
        return [path for value in item for path in _paths(value)]
    return []


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Adds the pictures of a dataset to ``datasets/<name>.md``."""
    uri = Path(page.file.src_uri)
    if uri.parent.as_posix() != "datasets":
        return markdown
    name = uri.stem
    images = Path(config["docs_dir"]) / "img"
    lines = []
    if (images / f"{name}-label-item.png").is_file():
        lines += [
            "A label item of the example catalog `catalogs/" + name + "/` in STAC Browser "
            "(`stacforge serve catalogs/" + name + " --browser`):",
            "",
            f"![A {name} label item in STAC Browser](../img/{name}-label-item.png)",
            "",
        ]
    charts = sorted((images / "stats" / name).glob("*.png"))
    if charts:
        lines += [
            "Its label collections by `stacforge stats catalogs/" + name + " --out DIR`:",
            "",
        ]
        lines += [f"![{chart.stem}](../img/stats/{name}/{chart.name})" for chart in charts]
    if not lines:
        return markdown
    return markdown.rstrip() + "\n\n## Pictures\n\n" + "\n".join(lines) + "\n"
