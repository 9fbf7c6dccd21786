"""Shared data for the schema tests: the hcsshim type records in ../shared/schema.

The data lives outside the package, next to the repository (``<repo>/../shared/schema``, or
``$HCSAIO_SHARED_DIR/schema``). Tests that compare against it skip when it is absent, so
the suite still runs against an installed wheel elsewhere.
"""

import json
import os
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]

#: module group -> the data files it is generated from (as in tools/gen_schema.py).
SOURCES = {
    "v2": ("hcs-schema2.json", "hcs-extra.json"),
    "v1": ("hcs-schema1.json",),
    "hcn": ("hcn.json",),
    "hns": ("hns.json",),
}


def shared_schema_dir() -> Path:
    shared = os.environ.get("HCSAIO_SHARED_DIR")
    base = Path(shared) if shared else REPO.parent / "shared"
    return base / "schema"


def load_records() -> dict[str, list[dict[str, Any]]] | None:
    directory = shared_schema_dir()
    if not all((directory / f).is_file() for files in SOURCES.values() for f in files):
        return None
    return {
        group: [r for f in files for r in json.loads((directory / f).read_text("utf-8"))]
        for group, files in SOURCES.items()
    }


RECORDS = load_records()
NO_DATA = pytest.mark.skip(reason=f"shared schema data not found in {shared_schema_dir()}")


def _records(kinds: tuple[str, ...]) -> list[Any]:
    if RECORDS is None:
        return [pytest.param(None, None, marks=NO_DATA, id="no-shared-data")]
    return [
        pytest.param(group, record, id=f"{group}.{record['name']}")
        for group, records in RECORDS.items()
        for record in records
        if record["kind"] in kinds
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``(group, struct_record)`` / ``(group, enum_record)`` / ``(group,
    alias_record)`` over the shared data, one test per type."""
    for name, kinds in (
        ("struct_record", ("struct",)),
        ("enum_record", ("string-enum", "int-enum")),
        ("alias_record", ("alias",)),
    ):
        if name in metafunc.fixturenames:
            metafunc.parametrize(("group", name), _records(kinds))


@pytest.fixture(scope="session")
def records() -> dict[str, list[dict[str, Any]]]:
    if RECORDS is None:
        pytest.skip(f"shared schema data not found in {shared_schema_dir()}")
    return RECORDS
