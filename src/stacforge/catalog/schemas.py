"""JSON schemas by URL, offline first: schema folders, a user cache, then a download.

A schema folder holds ``schema-map.json`` (``{"schemas": {url: relative file}}``, the shape
stac-validator's ``--schema-config`` reads). Every ``$ref`` between schemas resolves through
the same lookup, so cross-schema references work without network.

Each schema is compiled for jsonschema-rs, which says fast whether an object is valid, and,
once an object fails it, for jsonschema, which explains why.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urldefrag, urljoin, urlsplit

import jsonschema
import jsonschema_rs
import orjson
from jsonschema.protocols import Validator
from jsonschema_specifications import REGISTRY as METASCHEMAS
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from stacforge.catalog.io import write_bytes_atomic
from stacforge.errors import StacforgeError

SCHEMA_MAP = "schema-map.json"
SCHEMAS_ENV = "STACFORGE_SCHEMAS"
DOWNLOAD_TIMEOUT = 30.0
MAX_SCHEMA_BYTES = 4 << 20
"""The largest schema downloaded (the biggest STAC schemas are tens of kB)."""
FAST_VALIDATORS: dict[type[Validator], type[jsonschema_rs.Validator]] = {
    jsonschema.Draft4Validator: jsonschema_rs.Draft4Validator,
    jsonschema.Draft6Validator: jsonschema_rs.Draft6Validator,
    jsonschema.Draft7Validator: jsonschema_rs.Draft7Validator,
    jsonschema.Draft201909Validator: jsonschema_rs.Draft201909Validator,
    jsonschema.Draft202012Validator: jsonschema_rs.Draft202012Validator,
}
"""The jsonschema-rs validator class of each draft that jsonschema-rs knows (not draft 3)."""
FORMATS = frozenset(
    {
        *("date-time", "date", "time", "duration", "email", "idn-email", "hostname"),
        *("idn-hostname", "ipv4", "ipv6", "uri", "uri-reference", "iri", "iri-reference"),
        *("uuid", "uri-template", "json-pointer", "relative-json-pointer", "regex"),
    }
)
"""Every format that JSON Schema drafts 4 to 2020-12 define."""


class SchemaNotFound(StacforgeError):
    """No schema folder, cache entry or download provides the schema at ``url``."""

    def __init__(self, url: str, reason: str):
        self.url = url
        self.reason = reason
        super().__init__(f"schema {url} not found ({reason})")


def user_cache_dir() -> Path:
    """The folder downloaded schemas are kept in: ``$XDG_CACHE_HOME/stacforge/schemas``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "stacforge" / "schemas"


def read_schema_map(folder: Path) -> dict[str, Path]:
    """Reads ``folder/schema-map.json`` into ``{schema url: file}``.

    Raises:
        StacforgeError: The folder has no readable schema map.
    """
    path = Path(folder) / SCHEMA_MAP
    try:
        entries = orjson.loads(path.read_bytes())["schemas"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise StacforgeError(f"{path}: not a readable schema map ({error})") from error
    return {_key(url): path.parent / file for url, file in entries.items()}


def _key(url: str) -> str:
    """A schema URL without its (empty) fragment, as schema maps and ``$ref`` targets spell it."""
    return urldefrag(url).url


class SchemaStore:
    """Finds schemas by URL and compiles one validator per schema, reused for every object.

    Lookup order: the schema folders in the order given, the user cache, then a download over
    HTTP(S) that is stored in the cache (atomically, and only once it parses as a JSON object).
    Results, found or not, are remembered for the life of the store.

    Args:
        folders: Folders with a ``schema-map.json``.
        cache_dir: Where downloaded schemas are kept; ``None`` keeps no cache.
        allow_download: Whether a schema found nowhere else may be fetched.
    """

    def __init__(
        self,
        folders: Sequence[Path] = (),
        *,
        cache_dir: Path | None = None,
        allow_download: bool = True,
    ):
        self.folders = tuple(Path(folder) for folder in folders)
        self._files: dict[str, Path] = {}
        for folder in reversed(self.folders):  # earlier folders win
            self._files.update(read_schema_map(folder))
        self.cache_dir = cache_dir
        self.allow_download = allow_download
        self._schemas: dict[str, dict[str, Any] | SchemaNotFound] = {}
        self._validators: dict[str, Validator] = {}
        self._fast_validators: dict[str, jsonschema_rs.Validator | None] = {}
        # mypy's attrs plugin misses referencing's field alias `retrieve`
        registry: Registry[Any] = Registry(retrieve=self._resource)  # type: ignore[call-arg]
        # The meta-schemas are there too: collection summaries may hold a JSON schema.
        self._registry = registry.combine(METASCHEMAS)

    @classmethod
    def default(cls, schemas: Path | None = None, *, allow_download: bool = True) -> SchemaStore:
        """The store the ``validate`` command uses: ``schemas``, ``$STACFORGE_SCHEMAS``, the
        user cache, then (if allowed) a download."""
        folders = [Path(schemas)] if schemas is not None else []
        if os.environ.get(SCHEMAS_ENV):
            folders.append(Path(os.environ[SCHEMAS_ENV]))
        return cls(folders, cache_dir=user_cache_dir(), allow_download=allow_download)

    def get(self, url: str) -> dict[str, Any]:
        """The schema published at ``url``.

        Raises:
            SchemaNotFound: No folder, cache entry or download provides it.
        """
        key = _key(url)
        if key not in self._schemas:
            try:
                self._schemas[key] = self._find(key)
            except SchemaNotFound as error:
                self._schemas[key] = error
        found = self._schemas[key]
        if isinstance(found, SchemaNotFound):
            raise found
        return found

    def validator(self, url: str) -> Validator:
        """A validator for the schema at ``url``, compiled on first use.

        Raises:
            SchemaNotFound: The schema itself cannot be found. (A missing schema that it
                references surfaces while validating, as ``referencing.exceptions.Unresolvable``.)
        """
        key = _key(url)
        validator = self._validators.get(key)
        if validator is None:
            self._register(key)
            cls = _validator_class(self.get(key))
            # Through a $ref, so that a schema without `$id` still resolves its relative
            # references against the URL it came from.
            validator = cls(
                {"$ref": key}, registry=self._registry, format_checker=cls.FORMAT_CHECKER
            )
            self._validators[key] = validator
        return validator

    def fast_validator(self, url: str) -> jsonschema_rs.Validator | None:
        """A jsonschema-rs validator for the schema at ``url``, compiled on first use: it says
        whether an object is valid as :meth:`validator` would, only faster. ``None`` if
        jsonschema-rs cannot compile the schema.

        jsonschema-rs resolves every ``$ref`` while compiling, so a schema that refers to a
        missing schema gets ``None``, and so does one that only Python reads (a regex with
        ``(?P<name>...)``): their objects are left to :meth:`validator`, which reports a
        missing reference only for the objects that need it.

        Raises:
            SchemaNotFound: The schema itself cannot be found.
        """
        key = _key(url)
        if key not in self._fast_validators:
            self._fast_validators[key] = self._compile_fast(key)
        return self._fast_validators[key]

    def _compile_fast(self, url: str) -> jsonschema_rs.Validator | None:
        cls = _validator_class(self.get(url))
        fast_cls = FAST_VALIDATORS.get(cls)
        if fast_cls is None:
            return None
        # jsonschema checks a format only if its optional dependency is installed, jsonschema-rs
        # checks them all; with jsonschema's checks in both, an object goes to jsonschema only
        # when it has an error to explain (an href with a space is no `iri-reference` to
        # jsonschema-rs, but jsonschema accepts it).
        checker = cls.FORMAT_CHECKER
        formats: dict[str, Callable[..., bool]] = {
            name: partial(checker.conforms, format=name) for name in FORMATS.union(checker.checkers)
        }
        try:
            return fast_cls(
                self.get(url),
                base_uri=url,
                retriever=self.get,
                formats=formats,
                validate_formats=True,
            )
        except ValueError:  # jsonschema_rs.ValidationError, also for an unresolvable $ref
            return None

    def _register(self, url: str) -> None:
        """Adds the schema at ``url`` and every schema it refers to, transitively, to the registry.

        A schema reached only through the registry's retrieve function is retrieved and crawled
        anew at every ``$ref`` to it: thousands of times for an item with hundreds of assets.
        """
        resources: dict[str, Resource[Any]] = {}
        pending = [url]
        while pending:
            uri = pending.pop()
            if uri in resources or uri in self._registry:
                continue
            try:
                schema = self.get(uri)
            except SchemaNotFound:
                continue  # reported while validating, if validation ever follows that $ref
            resources[uri] = Resource.from_contents(schema, default_specification=DRAFT7)
            base = schema["$id"] if isinstance(schema.get("$id"), str) else uri
            pending.extend(_key(urljoin(base, ref)) for ref in _references(schema))
        self._registry = self._registry.with_resources(resources.items()).crawl()

    def _resource(self, uri: str) -> Resource[Any]:
        return Resource.from_contents(self.get(uri), default_specification=DRAFT7)

    def _find(self, url: str) -> dict[str, Any]:
        file = self._files.get(url)
        if file is not None:
            try:
                return _load_object(file.read_bytes())
            except (OSError, ValueError) as error:
                raise SchemaNotFound(url, f"{file}: {error}") from error
        cached = self._cache_file(url)
        if cached is not None and cached.is_file():
            try:
                return _load_object(cached.read_bytes())
            except (OSError, ValueError):
                cached.unlink(missing_ok=True)  # written by someone else; fetch it anew
        if urlsplit(url).scheme not in ("http", "https"):
            raise SchemaNotFound(url, "not in any schema folder or the cache")
        if not self.allow_download:
            raise SchemaNotFound(url, "not in any schema folder or the cache; download disabled")
        return self._download(url, cached)

    def _download(self, url: str, cached: Path | None) -> dict[str, Any]:
        try:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
                data = response.read(MAX_SCHEMA_BYTES + 1)
            if len(data) > MAX_SCHEMA_BYTES:
                raise ValueError(f"larger than {MAX_SCHEMA_BYTES:,} bytes")
            schema = _load_object(data)
        except (OSError, ValueError) as error:  # URLError and HTTPError are OSErrors
            raise SchemaNotFound(url, f"download failed: {error}") from error
        if cached is not None:
            write_bytes_atomic(cached, data)
        return schema

    def _cache_file(self, url: str) -> Path | None:
        # One flat file per URL: quoting keeps any URL a single, safe file name.
        return None if self.cache_dir is None else self.cache_dir / quote(url, safe="")


def _validator_class(schema: dict[str, Any]) -> type[Validator]:
    """The jsonschema validator class for the draft ``schema`` names; draft 7 if it names none."""
    cls: type[Validator] = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft7Validator
    )
    return cls


def _references(schema: Any) -> Iterator[str]:
    """Every ``$ref`` in a schema document, at any depth."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _references(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _references(value)


def _load_object(data: bytes) -> dict[str, Any]:
    schema = orjson.loads(data)
    if not isinstance(schema, dict):
        raise ValueError("not a JSON object")
    return schema
