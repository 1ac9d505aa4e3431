""":class:`ItemSearch`: a search of indexes, with pystac-client's ``ItemSearch`` vocabulary.

``Index.search(...)`` returns one. Nothing is read until a result is asked for, and every
result streams: ``items()``, ``items_as_dicts()`` and ``pages()`` yield as they read, so the
first item of a huge search comes at once. ``max_items`` caps the total; ``limit`` is the page
size of ``pages()``. ``matched()`` counts every match (it ignores ``max_items``), which is what
a STAC API reports as ``numberMatched``.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from stacforge.errors import StacforgeError
from stacforge.index.query import Query, SearchParams

if TYPE_CHECKING:
    import pyarrow as pa
    import pystac

    from stacforge.catalog.model import Item
    from stacforge.index.search import Index


class ItemSearch:
    """A search of one or more indexes (see :class:`~stacforge.index.query.SearchParams`).

    The parameters are checked when it is made (a bad one raises
    :class:`~stacforge.errors.StacforgeError` at once, as pystac-client raises in
    ``Client.search``).
    """

    def __init__(self, index: Index, params: SearchParams) -> None:
        self._index = index
        self._params = params
        self.query = Query.from_params(**params)
        self._matched: int | None = None

    def __repr__(self) -> str:
        return f"ItemSearch({self._index!r}, {self.get_parameters()!r})"

    def get_parameters(self) -> dict[str, Any]:
        """The search as the body of a STAC API ``POST /search`` (stacforge's label and asset
        filters under their own names)."""
        query = self.query
        found: dict[str, Any] = {"limit": query.limit} if "limit" in self._params else {}
        if query.bbox is not None:
            found["bbox"] = list(query.bbox)
        if query.intersects is not None:
            found["intersects"] = query.intersects.__geo_interface__
        if query.datetime is not None:
            found["datetime"] = _interval_text(query.datetime.start, query.datetime.end)
        if query.ids is not None:
            found["ids"] = sorted(query.ids)
        if query.collections is not None:
            found["collections"] = sorted(query.collections)
        if "filter" in self._params:
            found["filter"] = dict(Query.from_params(filter=self._params["filter"]).filter or {})
            found["filter-lang"] = "cql2-json"
        if query.query is not None:
            found["query"] = dict(query.query)
        if query.sortby:
            found["sortby"] = [
                {"field": key.field, "direction": "desc" if key.descending else "asc"}
                for key in query.sortby
            ]
        if query.fields is not None:
            found["fields"] = query.fields.as_dict()
        for name in ("labels", "label_any", "asset_roles", "asset_keys", "asset_datetime"):
            if name in self._params:
                found[name] = self._params[name]
        return found

    def matched(self) -> int:
        """How many items match, all of them (``max_items`` does not cap it)."""
        if self._matched is None:
            self._matched = self._index.count_query(dataclasses.replace(self.query, max_items=None))
        return self._matched

    def items_as_dicts(self) -> Iterator[Item]:
        """The matching items as dicts, one at a time (at most ``max_items``)."""
        return self._index.item_dicts_query(self.query)

    def items(self) -> Iterator[pystac.Item]:
        """The matching items as :class:`pystac.Item`, one at a time."""
        for page in self.pages():
            yield from page

    def pages_as_dicts(self) -> Iterator[dict[str, Any]]:
        """Pages of ``limit`` items as GeoJSON FeatureCollections with ``numberReturned``
        (and ``numberMatched`` once known)."""
        dicts = self.items_as_dicts()
        while features := list(itertools.islice(dicts, self.query.limit)):
            page: dict[str, Any] = {"type": "FeatureCollection", "features": features}
            page["numberReturned"] = len(features)
            if self._matched is not None:
                page["numberMatched"] = self._matched
            yield page

    def pages(self) -> Iterator[pystac.ItemCollection]:
        """Pages of ``limit`` items as :class:`pystac.ItemCollection`."""
        for page in self.pages_as_dicts():
            yield _item_collection(page)

    def item_collection_as_dict(self) -> dict[str, Any]:
        """Every matching item (at most ``max_items``) in one GeoJSON FeatureCollection, with
        ``numberMatched`` and ``numberReturned``."""
        features = list(self.items_as_dicts())
        return {
            "type": "FeatureCollection",
            "features": features,
            "numberMatched": self.matched(),
            "numberReturned": len(features),
        }

    def item_collection(self) -> pystac.ItemCollection:
        """Every matching item (at most ``max_items``) as a :class:`pystac.ItemCollection`
        (``numberMatched`` in its ``extra_fields``)."""
        return _item_collection(self.item_collection_as_dict())

    def ids(self) -> Iterator[str]:
        """The ids of the matching items (reads no item)."""
        return self._index.ids_query(self.query)

    def ids_as_arrow(self) -> Iterator[pa.Array]:
        """:meth:`ids` as Arrow string arrays, a block of matches at a time."""
        return self._index.id_arrays_query(self.query)

    def hrefs(self) -> Iterator[str]:
        """The absolute hrefs of the matching items' (matching) assets."""
        return self._index.hrefs_query(self.query)

    def hrefs_as_arrow(self) -> Iterator[pa.Array]:
        """:meth:`hrefs` as Arrow string arrays, a block of matches at a time (no Python
        string is made: half a million hrefs take a tenth of a second as ``str``)."""
        return self._index.href_arrays_query(self.query)

    def count(self) -> int:
        """How many items the search returns (at most ``max_items``)."""
        return self._index.count_query(self.query)


def _item_collection(collection: dict[str, Any]) -> pystac.ItemCollection:
    import pystac

    from stacforge.index.reader import gc_paused

    try:
        with gc_paused():
            items = [
                pystac.Item.from_dict(item, preserve_dict=False, migrate=False)
                for item in collection["features"]
            ]
    except (KeyError, TypeError, ValueError, pystac.STACError, pystac.STACTypeError) as error:
        raise StacforgeError(
            f"fields removed what a pystac.Item needs ({error}): use items_as_dicts()"
        ) from None
    extra = {k: v for k, v in collection.items() if k not in ("type", "features")}
    return pystac.ItemCollection(items, extra_fields=extra, clone_items=False)


def _interval_text(start: Any, end: Any) -> str:
    def text(moment: Any) -> str:
        return ".." if moment is None else moment.isoformat().replace("+00:00", "Z")

    if start == end and start is not None:
        return text(start)
    return f"{text(start)}/{text(end)}"
