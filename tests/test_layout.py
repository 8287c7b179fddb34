"""The test tree's own rules."""

import collections
import pathlib


def test_test_modules_have_unique_basenames():
    # pytest's default import mode imports test modules by basename: two files
    # with the same name in different folders break collection.
    root = pathlib.Path(__file__).parent
    names = collections.Counter(p.name for p in root.rglob("test_*.py"))
    assert not [n for n, c in names.items() if c > 1]
