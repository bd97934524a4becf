"""reconcile.core.codes gives np.unique's answers by hashing: the readers' column order, the
match's groups and every dictionary built from them rest on these being the same."""

import doctest

import numpy as np
import pytest

import reconcile.core.codes as codes


def test_examples():
    got = doctest.testmod(codes)
    assert got.attempted >= 3 and got.failed == 0


@pytest.mark.parametrize("seed, size, values, dtype", [
    (1, 10_000, 7, np.int32), (2, 10_000, 9_000, np.int64), (3, 1, 1, np.int32),
    (4, 5_000, 2**40, np.int64),
])
def test_same_answers_as_numpy_unique(seed, size, values, dtype):
    rows = np.random.default_rng(seed).integers(0, values, size).astype(dtype)
    used, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    by_appearance = np.argsort(first, kind="stable")

    assert codes.first_seen(rows).tolist() == used[by_appearance].tolist()
    got_values, got_inverse = codes.sorted_inverse(rows)
    assert got_values.tolist() == used.tolist()
    assert got_inverse.tolist() == inverse.reshape(-1).tolist()
    group, first_rows = codes.groups(rows)
    assert first_rows.tolist() == first[by_appearance].tolist()
    assert rows[first_rows][group].tolist() == rows.tolist()  # each row in its value's group


def test_no_rows():
    empty = np.zeros(0, np.int64)
    assert codes.first_seen(empty).tolist() == []
    assert [a.tolist() for a in codes.groups(empty)] == [[], []]
    assert [a.tolist() for a in codes.sorted_inverse(empty)] == [[], []]
