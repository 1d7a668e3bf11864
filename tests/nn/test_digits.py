"""The bundled UCI handwritten digits: the file, the counts, the scaling, the split."""

from __future__ import annotations

import gzip
import hashlib
from importlib import resources

import pytest

from micrograd_mlp.nn import BUNDLED, Dataset, digits, load_dataset
from micrograd_mlp.nn import datasets as D

SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"


def test_the_file_and_its_sha256():
    raw = resources.files("micrograd_mlp.nn").joinpath("data", "digits.csv.gz").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SHA256 == D.DIGITS_SHA256
    assert len(raw) < D.MAX_BUNDLED_BYTES
    lines = gzip.decompress(raw).decode("ascii").splitlines()
    assert len(lines) == 1797 and all(len(line.split(",")) == 65 for line in lines)


def test_the_readme_beside_the_file_states_source_licence_and_digest():
    text = resources.files("micrograd_mlp.nn").joinpath("data", "README.md").read_text("utf-8")
    for fact in ("Alpaydin", "Kaynak", "UCI", "CC BY 4.0", SHA256, "scikit-learn"):
        assert fact in text


def test_counts_classes_and_range():
    X, y = digits()
    assert len(X) == len(y) == 1797
    assert all(len(row) == 64 for row in X)
    assert sorted(set(y)) == list(range(10))
    assert all(type(t) is int for t in y)
    assert min(y.count(c) for c in range(10)) >= 170  # each class present, about 180 each
    pixels = [p for row in X for p in row]
    assert all(type(p) is float for p in pixels)
    assert min(pixels) == 0.0 and max(pixels) == 1.0
    assert all(p * 16.0 == int(p * 16.0) for p in pixels)  # exactly pixel / 16
    # the first image of the file, a 0
    assert y[0] == 0 and X[0][:8] == [0.0, 0.0, 5 / 16, 13 / 16, 9 / 16, 1 / 16, 0.0, 0.0]


def test_split_is_deterministic_disjoint_and_complete():
    everything = digits()
    train, test = digits("train"), digits("test")
    assert (len(train.inputs), len(test.inputs)) == (1438, 359)
    assert digits("train") == train and digits("test", seed=0) == test
    assert digits("test", seed=1) != test
    pairs = sorted(zip(map(tuple, everything.inputs), everything.targets))
    assert sorted(zip(map(tuple, train.inputs + test.inputs), train.targets + test.targets)) \
        == pairs
    assert sorted(set(train.targets)) == sorted(set(test.targets)) == list(range(10))
    # the split is pinned: a version of Python or of this library must not move it
    order = D._permutation(1797, 0)
    assert sorted(order) == list(range(1797))
    assert hashlib.sha256(repr(order).encode()).hexdigest() == (
        "85c3ddafd129f5caa12cb825ea003f9aabf39ff106590a0921274813482889a0")
    assert order[-359:][:5] == [1293, 1544, 490, 1461, 879]
    assert test.targets[:10] == [6, 8, 6, 5, 3, 5, 6, 9, 2, 8]


def test_test_fraction():
    assert len(digits("test", test_fraction=0.5).inputs) == round(1797 * 0.5)
    assert len(digits("train", test_fraction=0.1).inputs) == 1797 - 180


def test_returned_lists_are_fresh():
    a = digits("test")
    a.inputs[0][0] = 99.0
    a.targets[0] = 99
    assert digits("test").inputs[0][0] != 99.0 and digits("test").targets[0] != 99


def test_load_dataset_finds_it():
    assert BUNDLED["digits"] is digits
    assert load_dataset("digits") == digits()
    assert load_dataset("digits", split="test", seed=3) == digits("test", seed=3)
    assert isinstance(load_dataset("digits"), Dataset)
    with pytest.raises(ValueError, match="choose one of circles, moons, xor, or the bundled "
                                         "digits"):
        load_dataset("spiral")


@pytest.mark.parametrize("call, exc, message", [
    (lambda: digits("valid"), ValueError, r"digits: split must be one of 'all', 'train', 'test'"),
    (lambda: digits(seed=1.5), TypeError, r"digits: seed must be an integer"),
    (lambda: digits(test_fraction=0.0), ValueError, r"digits: test_fraction must leave"),
    (lambda: digits(test_fraction=1.0), ValueError, r"digits: test_fraction must leave"),
    (lambda: digits(test_fraction="0.2"), TypeError, r"digits: test_fraction must be"),
])
def test_refusals(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


def test_a_damaged_or_oversized_file_is_refused(monkeypatch):
    import io

    class Big(io.BytesIO):
        pass

    with pytest.raises(ValueError, match="larger than 10 bytes"):
        D._bounded_read(Big(b"x" * 11), 10, "the file")
    assert D._bounded_read(io.BytesIO(b"x" * 10), 10, "the file") == b"x" * 10
    monkeypatch.setattr(D, "DIGITS_SHA256", "0" * 64)
    D._digits_rows.cache_clear()
    try:
        with pytest.raises(ValueError, match="digits: digits.csv.gz has sha256 09f66e6d"):
            digits()
    finally:
        monkeypatch.undo()
        D._digits_rows.cache_clear()
    assert len(digits().inputs) == 1797
