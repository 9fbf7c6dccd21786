"""The examples in the hcsaio.schema docstrings run as written."""

import doctest

import hcsaio.schema


def test_package_docstring_examples() -> None:
    results = doctest.testmod(hcsaio.schema, verbose=False)
    assert results.attempted >= 2
    assert results.failed == 0
