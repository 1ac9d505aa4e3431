"""Offline validation of a static STAC catalog on disk: core and extension schemas, and links.

The walk starts at a root catalog and follows ``child`` and ``item`` links, visiting each file
once. Every object is validated against the core schema for its type and ``stac_version`` and
against each schema in its ``stac_extensions``; every relative link must point at a file.
One process does it all: with jsonschema-rs deciding validity, an item costs about a
millisecond, and a process pool did not pay for its start-up and messaging where we measured
(``docs/benchmarks.md``).
"""

from __future__ import annotations

import os
import reprlib
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import orjson
from jsonschema.exceptions import relevance
from referencing.exceptions import Unresolvable

from stacforge import hrefs
from stacforge.catalog.layout import root_document
from stacforge.catalog.schemas import SchemaNotFound, SchemaStore

CORE_SCHEMA_PATHS = {
    "Catalog": "catalog-spec/json-schema/catalog.json",
    "Collection": "collection-spec/json-schema/collection.json",
    "Feature": "item-spec/json-schema/item.json",
}
KINDS = {"Catalog": "catalog", "Collection": "collection", "Feature": "item"}
WALKED_RELS = frozenset({"child", "item"})
UPWARD_RELS = frozenset({"root", "parent", "collection"})
"""Structural links that lead up the tree: when a sub-catalog is validated on its own they
leave its folder, and are only checked to exist, never read."""

MAX_BYTES = 64 << 20
"""The largest file read as one STAC object (a bigger one is reported, not read)."""

_short = reprlib.Repr()
_short.maxstring = _short.maxother = 40
_short.maxdict = _short.maxlist = 3
_short.maxlevel = 2
MAX_MESSAGE = 200


@dataclass(frozen=True)
class ObjectError:
    """One problem in one file: the file, a JSON path into it, and what is wrong."""

    file: Path
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.location}: {self.message}"


@dataclass(frozen=True)
class FileResult:
    """What checking one file found: its kind, its errors, and the files it links to."""

    kind: str | None
    errors: list[ObjectError]
    children: list[Path]


@dataclass
class ValidationReport:
    """The outcome of validating a catalog: errors in walk order, and objects seen per kind."""

    errors: list[ObjectError] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def objects(self) -> int:
        return self.counts.total()

    def add(self, result: FileResult) -> None:
        """Adds what checking one file found."""
        if result.kind is not None:
            self.counts[result.kind] += 1
        self.errors.extend(result.errors)

    def summary(self) -> str:
        """One line, e.g. ``valid: 12 objects (1 catalog, 2 collections, 9 items), 0 errors``."""
        kinds = ", ".join(_count(self.counts[kind], kind) for kind in KINDS.values())
        objects = f"{_count(self.objects, 'object')} ({kinds})"
        if self.valid:
            return f"valid: {objects}, 0 errors"
        return f"invalid: {_count(len(self.errors), 'error')} in {objects}"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


class ObjectChecker:
    """Checks single STAC files against their schemas and their relative links.

    Args:
        store: Where schemas come from.
        root: The catalog's folder: links to local files outside it are reported and not
            followed, unless ``allow_outside``.
        allow_outside: Check links to local files outside ``root`` like any other.
        max_bytes: The largest file read; a bigger one is reported, not read.
    """

    def __init__(
        self,
        store: SchemaStore,
        *,
        root: Path | None = None,
        allow_outside: bool = False,
        max_bytes: int = MAX_BYTES,
    ):
        self.store = store
        self.root = root.resolve() if root is not None else None
        self.allow_outside = allow_outside
        self.max_bytes = max_bytes

    def check(self, path: Path) -> FileResult:
        """Validates the STAC object in ``path``; never raises for bad content."""
        try:
            size = path.stat().st_size
            if size > self.max_bytes:
                return _unusable(
                    path, "$", f"{size:,} bytes: larger than the {self.max_bytes:,} bytes read"
                )
            obj = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as error:
            return _unusable(path, "$", f"cannot read JSON: {error}")
        if not isinstance(obj, dict):
            return _unusable(path, "$", "not a JSON object")
        stac_type = obj.get("type")
        if stac_type not in KINDS:
            return _unusable(path, "$.type", f"not a Catalog, Collection or Item: {stac_type!r}")
        errors = list(dict.fromkeys(self._schema_errors(path, obj)))  # unique, in order
        link_errors, children = self._check_links(path, obj)
        return FileResult(KINDS[stac_type], errors + link_errors, children)

    def _schema_errors(self, path: Path, obj: dict[str, Any]) -> Iterator[ObjectError]:
        if not isinstance(obj.get("stac_version"), str):
            yield ObjectError(path, "$.stac_version", "missing; cannot choose the core schema")
        for url in schema_urls(obj):
            yield from self._errors_against(path, obj, url)

    def _errors_against(self, path: Path, obj: dict[str, Any], url: str) -> Iterator[ObjectError]:
        try:
            # jsonschema-rs decides, fast; jsonschema explains only what it finds invalid.
            fast = self.store.fast_validator(url)
            if fast is not None and fast.is_valid(obj):
                return
            validator = self.store.validator(url)
            for schema_error in validator.iter_errors(obj):
                for cause in _explain(schema_error):
                    yield ObjectError(path, cause.json_path, _message(cause))
        except SchemaNotFound as error:
            yield ObjectError(path, "$", str(error))
        except Unresolvable as error:
            yield ObjectError(path, "$", _unresolvable_message(url, error))

    def _check_links(self, path: Path, obj: dict[str, Any]) -> tuple[list[ObjectError], list[Path]]:
        errors: list[ObjectError] = []
        children: list[Path] = []
        links = obj.get("links")
        for index, link in enumerate(links if isinstance(links, list) else []):
            href = link.get("href") if isinstance(link, dict) else None
            target = _local_target(path, href) if isinstance(href, str) else None
            if target is None:
                continue  # malformed (the schema says so) or remote (not fetched)
            rel = link.get("rel")
            if not self.allow_outside and rel not in UPWARD_RELS and not self._inside(target):
                where = f"$.links[{index}].href"
                message = f"{rel} link leaves the catalog folder, not followed: {href}"
                errors.append(ObjectError(path, where, message))
            elif not target.is_file():
                where = f"$.links[{index}].href"
                errors.append(ObjectError(path, where, f"{rel} link target not found: {href}"))
            elif rel in WALKED_RELS:
                children.append(target)
        return errors, children

    def _inside(self, target: Path) -> bool:
        return self.root is None or target.resolve().is_relative_to(self.root)


def schema_urls(obj: dict[str, Any]) -> list[str]:
    """The schemas a STAC object is checked against: the core schema of its ``type`` and
    ``stac_version`` (if it has a version), then those in its ``stac_extensions``."""
    urls = []
    version = obj.get("stac_version")
    if isinstance(version, str):
        urls.append(f"https://schemas.stacspec.org/v{version}/{CORE_SCHEMA_PATHS[obj['type']]}")
    extensions = obj.get("stac_extensions", [])
    if isinstance(extensions, list):
        urls.extend(url for url in extensions if isinstance(url, str))
    return urls


def _unresolvable_message(url: str, error: Unresolvable) -> str:
    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, SchemaNotFound):
        cause = cause.__cause__  # jsonschema and referencing each wrap the lookup's error
    if cause is None:
        return f"schema {url}: cannot resolve {error.ref}"
    return f"schema {url} refers to {cause.url}, which is not found ({cause.reason})"


def _unusable(path: Path, location: str, message: str) -> FileResult:
    """The result for a file that is not a STAC object, so nothing more can be checked."""
    return FileResult(None, [ObjectError(path, location, message)], [])


def _local_target(path: Path, href: str) -> Path | None:
    """The file a link href points at, relative to the object at ``path``; None if remote."""
    if hrefs.scheme(href) not in hrefs.LOCAL_SCHEMES:
        return None
    return Path(hrefs.local_path(href, str(path.parent)))


def _explain(error: jsonschema.ValidationError) -> Iterator[jsonschema.ValidationError]:
    """The errors that say why ``error`` happened: for a failed ``oneOf``/``anyOf``, every
    error of the branch that was meant for the object.

    Extension schemas wrap everything in ``oneOf: [item rules, collection rules]``, which
    alone says only "not valid under any of the given schemas". A branch that fails on the
    ``const``, ``enum`` or ``type`` of the object or a direct member (``type: Collection``
    for an item, ``geometry: null``, ``type: Point`` for a polygon) is not meant for it; of
    the others, the branch with the most specific (deepest) error is, as in ``best_match``.
    When no branch is meant for the object, the failed ``oneOf`` itself is the best answer.
    """
    branches: dict[Any, list[jsonschema.ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    meant = [subs for subs in branches.values() if not any(map(_is_discriminator, subs))]
    if not meant:
        yield error
        return
    best = min(meant, key=lambda subs: min(map(relevance, subs)))
    for sub in best:
        yield from _explain(sub)


def _is_discriminator(error: jsonschema.ValidationError) -> bool:
    return error.validator in ("const", "enum", "type") and len(error.relative_path) <= 1


def _message(error: jsonschema.ValidationError) -> str:
    # jsonschema puts the whole failing instance in the message; an item is too big for a line.
    message = str(error.message).replace(repr(error.instance), _short.repr(error.instance), 1)
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 3] + "..."


def validate(
    href: str | os.PathLike[str],
    *,
    schemas: Path | None = None,
    allow_download: bool = True,
    on_error: Callable[[ObjectError], None] | None = None,
    allow_outside: bool = False,
    max_bytes: int = MAX_BYTES,
) -> ValidationReport:
    """Validates the static catalog at ``href`` (a catalog/collection file or a folder).

    Files are checked breadth first, each once, so errors come in the order of the tree's
    levels.

    Args:
        href: The root ``catalog.json`` or ``collection.json``, or its folder.
        schemas: A folder with ``schema-map.json``, searched before ``$STACFORGE_SCHEMAS``,
            the user cache and a download.
        allow_download: Whether schemas found nowhere locally may be fetched (and cached).
        on_error: Called with each error as soon as it is found.
        allow_outside: Follow and check links to local files outside the root's folder
            (by default each is an error, and is not read: a catalog from elsewhere may point
            at ``/etc/passwd``).
        max_bytes: The largest file read as one object; a bigger one is an error.

    Raises:
        StacforgeError: ``href`` is not a file or a folder with ``catalog.json``, or a schema
            folder has no readable ``schema-map.json``.
    """
    root = root_document(href)
    checker = ObjectChecker(
        SchemaStore.default(schemas, allow_download=allow_download),
        root=root.parent,
        allow_outside=allow_outside,
        max_bytes=max_bytes,
    )
    report = ValidationReport()
    seen = {root}
    pending = deque([root])
    while pending:
        result = checker.check(pending.popleft())
        report.add(result)
        if on_error is not None:
            for error in result.errors:
                on_error(error)
        for child in result.children:
            if child not in seen:
                seen.add(child)
                pending.append(child)
    return report
