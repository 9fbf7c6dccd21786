"""Typed HCS, HCN and HNS JSON documents (msgspec structs) and their JSON codec.

* :mod:`hcsaio.schema.v2` -- HCS schema v2 (compute systems, containers, virtual machines,
  processes, properties, modify requests, errors and event payloads).
* :mod:`hcsaio.schema.v1` -- HCS schema v1 (vmcompute.dll era).
* :mod:`hcsaio.schema.hcn` -- HCN networks, endpoints, namespaces, load balancers, policies.
* :mod:`hcsaio.schema.hns` -- HNS v1 networks, endpoints and policies.

The type modules are generated from hcsshim's Go types by ``tools/gen_schema.py``; class
names are the Go names, attributes are snake_case, wire names are exact. Documents HCS
returns ignore unknown fields; documents hcsaio sends reject them when decoded.

>>> from hcsaio.schema import decode, encode, v2
>>> encode(v2.ComputeSystem(owner="demo", schema_version=v2.Version(major=2, minor=1)))
b'{"Owner":"demo","SchemaVersion":{"Major":2,"Minor":1}}'
>>> decode('{"ProcessId": 42, "Exited": true}', v2.ProcessStatus).process_id
42
"""

from . import hcn, hns, v1, v2
from ._base import RequestStruct, ResponseStruct
from ._codec import SchemaError, convert, decode, encode
from .builders import (
    container_document,
    join_windows_command_line,
    layer_id,
    process_parameters,
    split_windows_command_line,
)

__all__ = [
    "RequestStruct",
    "ResponseStruct",
    "SchemaError",
    "container_document",
    "convert",
    "decode",
    "encode",
    "hcn",
    "hns",
    "join_windows_command_line",
    "layer_id",
    "process_parameters",
    "split_windows_command_line",
    "v1",
    "v2",
]
