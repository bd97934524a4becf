"""Distinct values of integer code arrays (a column's dictionary codes, combined group keys)
in the order they first appear, found by Arrow's hash rather than NumPy's sort.

`np.unique` sorts every row, then the readers sorted again for the order of first appearance.
Reading and matching the 1M-line bench batch make 64 such calls: 0.62 s by np.unique, 0.24 s
by these. For the sorted distinct values alone np.unique is as fast: use it there.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def _numpy(array: pa.Array) -> np.ndarray:
    return array.to_numpy(zero_copy_only=False)


def first_seen(codes: np.ndarray) -> np.ndarray:
    """The distinct codes in the order they first appear.

    >>> first_seen(np.array([5, 2, 5, 9, 2])).tolist()
    [5, 2, 9]
    """
    return _numpy(pc.unique(pa.array(codes)))


def groups(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group of each row, first row of each group), groups numbered in the order they first
    appear.

    >>> g, first = groups(np.array([7, 3, 7, 1, 3]))
    >>> g.tolist(), first.tolist()
    ([0, 1, 0, 2, 1], [0, 1, 3])
    """
    if not len(codes):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    group = _numpy(pc.dictionary_encode(pa.array(codes)).indices).astype(np.int64)
    # numbered by first appearance, a group's first row is where the running top rises
    top = np.maximum.accumulate(group)
    return group, np.flatnonzero(np.concatenate([[True], top[1:] > top[:-1]]))


def sorted_inverse(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct codes sorted, each row's position among them): np.unique(codes,
    return_inverse=True).

    >>> values, inverse = sorted_inverse(np.array([50, 20, 50, 90]))
    >>> values.tolist(), inverse.tolist()
    ([20, 50, 90], [1, 0, 1, 2])
    """
    if not len(codes):
        return np.zeros(0, codes.dtype), np.zeros(0, np.int64)
    encoded = pc.dictionary_encode(pa.array(codes))
    values = _numpy(encoded.dictionary)
    order = np.argsort(values, kind="stable")
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    return values[order], rank[_numpy(encoded.indices)]
