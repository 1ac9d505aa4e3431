"""The Hilbert curve that orders index rows, so that nearby items share row groups."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

ORDER = 16
"""Bits per axis: a 65,536 x 65,536 grid over the globe, cells of about 600 m x 300 m."""


def hilbert_keys(lon: ArrayLike, lat: ArrayLike, order: int = ORDER) -> NDArray[np.uint64]:
    """The position of each point along a Hilbert curve over longitude/latitude.

    Points close on the curve are close on the ground, so sorting by this key packs spatially
    compact runs of items into each Parquet row group, whose ``bbox`` statistics then prune
    well. Values outside the valid range are clamped to the edge of the grid.

    Args:
        lon: Longitudes in degrees.
        lat: Latitudes in degrees.
        order: Bits per axis (the grid has ``2**order`` cells per side).
    """
    side = 1 << order
    scale = side - 1
    x = np.clip((np.asarray(lon, dtype=np.float64) + 180.0) / 360.0 * scale, 0, scale)
    y = np.clip((np.asarray(lat, dtype=np.float64) + 90.0) / 180.0 * scale, 0, scale)
    xi = x.astype(np.uint64)
    yi = y.astype(np.uint64)
    key = np.zeros(xi.shape, dtype=np.uint64)
    s = np.uint64(side >> 1)
    last = np.uint64(side - 1)
    while s > 0:
        rx = (xi & s) > 0
        ry = (yi & s) > 0
        key += s * s * ((3 * rx.astype(np.uint64)) ^ ry.astype(np.uint64))
        # Rotate the quadrant so the sub-curve joins its neighbours end to end.
        flip = rx & ~ry
        xi = np.where(flip, last - xi, xi)
        yi = np.where(flip, last - yi, yi)
        swap = ~ry
        xi, yi = np.where(swap, yi, xi), np.where(swap, xi, yi)
        s >>= np.uint64(1)
    return key
