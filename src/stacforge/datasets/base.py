"""The dataset contract: what a dataset package declares, and what a build hands it.

A dataset is one package ``stacforge.datasets.<name>`` with ``constants.py`` (fixed facts),
``reader.py`` (native files -> records, errors naming file and record), ``stac.py`` (records ->
item dicts, pure), ``sample.py`` (writes native-format sample input) and an ``__init__.py``
whose ``DATASET`` is a :class:`Dataset`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from stacforge.catalog.model import CatalogSpec, CollectionSpec, PlacedItem
from stacforge.errors import InputError, StacforgeError

P = TypeVar("P")


@dataclass(frozen=True)
class DatasetOption:
    """A build option of one dataset (``--year 2018``), declared once: ``stacforge build NAME
    --help`` shows it and ``stacforge.build(NAME, ..., year=2018)`` takes it as a keyword.

    Attributes:
        name: Keyword in Python; on the command line ``--`` + the name with ``-`` for ``_``.
        help: One line for ``--help``.
        type: ``str``, ``int``, ``float`` or ``bool`` (a flag).
        default: The value when the option is not given.
        multiple: A list of values (comma-separated on the command line).
        choices: The allowed values, if only some are.
    """

    name: str
    help: str
    type: type[str] | type[int] | type[float] | type[bool] = str
    default: Any = None
    multiple: bool = False
    choices: Sequence[str] | None = None

    def parse(self, value: Any) -> Any:
        """``value`` (from Python or the command line) checked and converted to ``type``.

        Raises:
            StacforgeError: A value of the wrong type or not among ``choices``.
        """
        if value is None:
            return self.default
        if self.multiple:
            values = value.split(",") if isinstance(value, str) else list(value)
            return tuple(self._one(v.strip() if isinstance(v, str) else v) for v in values if v)
        return self._one(value)

    def _one(self, value: Any) -> Any:
        try:
            parsed = self.type(value) if not isinstance(value, self.type) else value
        except (TypeError, ValueError):
            raise StacforgeError(
                f"--{self.flag}: {value!r} is not a {self.type.__name__}"
            ) from None
        if self.choices is not None and parsed not in self.choices:
            raise StacforgeError(
                f"--{self.flag}: {value!r} is not one of {', '.join(self.choices)}"
            )
        return parsed

    @property
    def flag(self) -> str:
        """The command-line spelling, without the leading ``--``."""
        return self.name.replace("_", "-")


@dataclass(frozen=True)
class BuildOptions:
    """What every build hands its dataset's plan.

    Attributes:
        asset_href_base: Prefix of asset hrefs (``None``: the dataset's own default, which is
            hrefs relative to the item where the catalog is hosted next to the data).
        skip_invalid: Skip and report bad samples instead of failing on the first.
        workers: Processes for parallel reads (``None``: every core).
        dataset: The dataset's own options (see :class:`DatasetOption`), defaults filled in.
        on_skip: Receives each skipped sample's error (only with ``skip_invalid``).
        on_warning: Receives what a build should tell its user but that stops nothing (e.g.
            samples a dataset leaves out by design).
    """

    asset_href_base: str | None = None
    skip_invalid: bool = False
    workers: int | None = None
    dataset: Mapping[str, Any] = field(default_factory=dict)
    on_skip: Callable[[InputError], None] | None = None
    on_warning: Callable[[str], None] | None = None

    def warn(self, message: str) -> None:
        """Tells the user something about the build that stops nothing (one line)."""
        if self.on_warning is not None:
            self.on_warning(message)

    def invalid(self, error: InputError) -> None:
        """Deals with one bad sample: raises ``error``, or with ``skip_invalid`` reports it
        (to ``on_skip``) so that the build goes on without the sample.

        Raises:
            InputError: ``error``, unless ``skip_invalid``.
        """
        if not self.skip_invalid:
            raise error
        if self.on_skip is not None:
            self.on_skip(error)


@dataclass(frozen=True)
class BuildPlan(Generic[P]):
    """The catalog, its collections and the items of one build, in independent partitions.

    A partition is a piece of SOURCE (a file, a region, a tile) whose items do not depend on
    any other partition, so partitions can run in any order or apart, and their results
    (extents, summaries, counts, index runs) merge.

    Attributes:
        catalog: The root catalog.
        collections: The top-level collections.
        partitions: The pieces of SOURCE, small descriptions (paths, names), not data.
        items: Reads one partition and yields its placed items, lazily.
    """

    catalog: CatalogSpec
    collections: Sequence[CollectionSpec]
    partitions: Sequence[P]
    items: Callable[[P], Iterable[PlacedItem]]


class SampleWriter(Protocol):
    """Writes made-up input of ``count`` samples in the dataset's native format to ``out``
    (same ``seed``, same bytes) and returns the SOURCE folder to build from."""

    def __call__(self, out: Path, /, *, count: int, seed: int = 0) -> Path: ...


@dataclass(frozen=True)
class Dataset:
    """A registered dataset.

    Attributes:
        name: Name on the command line (``stacforge build <name> ...``).
        title: Human-readable name.
        plan: Opens SOURCE (reading up front what collections need, e.g. label classes) and
            returns the build plan.
        write_sample: Writes sample input (the demo, the tests, ``catalogs/<name>/``).
        sample_count: Samples in the example catalog ``catalogs/<name>/`` (a few dozen items).
        options: The dataset's own build options.
    """

    name: str
    title: str
    plan: Callable[[Path, BuildOptions], BuildPlan[Any]]
    write_sample: SampleWriter
    sample_count: int
    options: Sequence[DatasetOption] = ()

    def build_options(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The dataset's options from keyword ``values``, checked, defaults filled in.

        Raises:
            StacforgeError: An unknown option or a bad value.
        """
        known = {option.name: option for option in self.options}
        if unknown := sorted(set(values) - set(known)):
            names = ", ".join(known) or "none"
            raise StacforgeError(
                f"{self.name} has no option {', '.join(unknown)} (its options: {names})"
            )
        return {name: option.parse(values.get(name)) for name, option in known.items()}
