"""Schema codec benchmark: hcsaio's msgspec structs against the two usual alternatives.

Two documents, each encoded (object -> JSON bytes) and decoded (JSON bytes -> typed object):

* a full process-isolated container ``ComputeSystem`` (the create document), and
* a ``Properties`` response with statistics and a 100-entry process list.

Baselines, measured in the same run on the same documents:

* **stdlib json + dataclasses**, written the obvious way: one dataclass per schema type
  (same fields, same defaults, wire names in field metadata) and a generic recursive
  converter driven by the dataclass fields (cached per class), then ``json.dumps`` /
  ``json.loads``;
* **pydantic v2** models of the same shape (aliases for the wire names, the same integer
  ranges), ``model_dump_json(by_alias=True, exclude_defaults=True)`` and
  ``model_validate_json``.

The baseline classes are derived mechanically from the msgspec structs, so all three have
exactly the same types, fields and defaults. All three must produce the same JSON; the
benchmark checks that before timing.

``run(quick)`` returns one row per (document, direction, baseline)::

    {"name": "schema", "metric": "ComputeSystem(container) encode", "unit": "us",
     "value": <msgspec us/op>, "baseline": "stdlib json+dataclasses",
     "baseline_value": <baseline us/op>, "ratio": <baseline / msgspec>, "target": 5.0,
     "ok": ratio >= target}

Targets: at least 5x stdlib and 2x pydantic in both directions.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import enum
import functools
import json
import sys
import time
import types
import typing
import uuid
from collections.abc import Callable
from typing import Annotated, Any

import msgspec
import msgspec.inspect as mi

from hcsaio import schema
from hcsaio.schema import v2

STDLIB = "stdlib json+dataclasses"
PYDANTIC = "pydantic v2"
TARGETS = {STDLIB: 5.0, PYDANTIC: 2.0}


# --------------------------------------------------------------------------- documents


def container_document() -> v2.ComputeSystem:
    """A complete process-isolated container create document."""
    doc = schema.container_document(
        owner="containerd-shim-runhcs-v1",
        layers=[f"C:\\ProgramData\\containerd\\snapshots\\{n}" for n in range(40, 34, -1)],
        scratch_dir="\\\\?\\Volume{d2a3f5a1-7c4e-4b9d-a1f0-2e6c8b7d9a10}\\",
        mapped_directories=[
            (f"C:\\data\\volume{n}", f"C:\\mnt\\volume{n}", n % 2 == 0) for n in range(6)
        ],
        memory_mb=4096,
        cpu_count=4,
        hostname="web-frontend-7f9c",
        network_namespace="4e1b3c9a-2d7f-4f6a-8b1e-9c0d5a3e7f12",
        dns_search=["svc.cluster.local", "cluster.local"],
    )
    assert doc.container is not None
    doc.container.mapped_pipes = [
        v2.MappedPipe(container_pipe_name="docker_engine", host_path="\\\\.\\pipe\\docker_engine")
    ]
    doc.container.hv_socket = v2.HvSocket(
        config=v2.HvSocketSystemConfig(
            default_bind_security_descriptor="D:P(A;;FA;;;SY)(A;;FA;;;BA)",
            service_table={
                "0b52781f-b24d-5685-ddf6-69830ed40ec3": v2.HvSocketServiceConfig(
                    bind_security_descriptor="D:P(A;;FA;;;WD)", allow_wildcard_binds=True
                )
            },
        )
    )
    doc.container.registry_changes = v2.RegistryChanges(
        add_values=[
            v2.RegistryValue(
                key=v2.RegistryKey(hive=v2.RegistryHive.SYSTEM, name="ControlSet001\\Control"),
                name=f"Value{n}",
                type=v2.RegistryValueType.D_WORD,
                dword_value=n,
            )
            for n in range(3)
        ]
    )
    return doc


def properties_response() -> v2.Properties:
    """A Properties response with statistics and 100 processes."""
    start = datetime.datetime(2024, 3, 1, 10, 0, tzinfo=datetime.UTC)
    return v2.Properties(
        id="web-frontend-7f9c",
        system_type="Container",
        runtime_os_type="Windows",
        name="web-frontend-7f9c",
        owner="containerd-shim-runhcs-v1",
        runtime_id="1f0c4a7e-93d2-4e57-8b6a-0d2c9e4f7a31",
        state="Running",
        statistics=v2.Statistics(
            timestamp=start + datetime.timedelta(minutes=15, microseconds=123456),
            container_start_time=start,
            uptime100ns=9_001_234_567,
            processor=v2.ProcessorStats(
                total_runtime100ns=41_234_567_890,
                runtime_user100ns=31_234_567_890,
                runtime_kernel100ns=10_000_000_000,
            ),
            memory=v2.MemoryStats(
                memory_usage_commit_bytes=3_221_225_472,
                memory_usage_commit_peak_bytes=4_294_967_296,
                memory_usage_private_working_set_bytes=1_610_612_736,
            ),
            storage=v2.StorageStats(
                read_count_normalized=10_240,
                read_size_bytes=671_088_640,
                write_count_normalized=5_120,
                write_size_bytes=335_544_320,
            ),
        ),
        process_list=[
            v2.ProcessDetails(
                process_id=1000 + 4 * n,
                image_name=f"worker-{n}.exe",
                create_timestamp=start + datetime.timedelta(seconds=n, microseconds=250_001),
                user_time100ns=1_000_000 * n + 17,
                kernel_time100ns=250_000 * n + 3,
                memory_commit_bytes=(64 << 20) + 4096 * n,
                memory_working_set_private_bytes=(48 << 20) + 4096 * n,
                memory_working_set_shared_bytes=(16 << 20) + 512 * n,
            )
            for n in range(100)
        ],
    )


# --------------------------------------------------------------------------- mirrors


def python_type(info: mi.Type, struct: Callable[[type[msgspec.Struct]], Any]) -> Any:
    """The annotation for msgspec type ``info``; nested structs map through ``struct``."""
    if isinstance(info, mi.IntType):
        return int
    if isinstance(info, mi.StrType):
        return str
    if isinstance(info, mi.BoolType):
        return bool
    if isinstance(info, mi.FloatType):
        return float
    if isinstance(info, mi.BytesType):
        return bytes
    if isinstance(info, mi.DateTimeType):
        return datetime.datetime
    if isinstance(info, mi.UUIDType):
        return uuid.UUID
    if isinstance(info, mi.AnyType):
        return Any
    if isinstance(info, mi.NoneType):
        return type(None)
    if isinstance(info, mi.EnumType):
        return info.cls
    if isinstance(info, mi.ListType):
        return list[python_type(info.item_type, struct)]  # type: ignore[misc]
    if isinstance(info, mi.TupleType):
        return tuple[tuple(python_type(t, struct) for t in info.item_types)]  # type: ignore[misc]
    if isinstance(info, mi.DictType):
        key, value = python_type(info.key_type, struct), python_type(info.value_type, struct)
        return dict[key, value]  # type: ignore[valid-type]
    if isinstance(info, mi.UnionType):
        return functools.reduce(lambda a, b: a | b, (python_type(t, struct) for t in info.types))
    if isinstance(info, mi.StructType):
        return struct(info.cls)
    raise TypeError(f"unsupported {info!r}")


def struct_info(cls: type[msgspec.Struct]) -> mi.StructType:
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    return info


class DataclassMirror:
    """One plain dataclass per schema struct, plus the obvious generic JSON converter."""

    def __init__(self) -> None:
        self.classes: dict[type[msgspec.Struct], type] = {}

    def dataclass_for(self, cls: type[msgspec.Struct]) -> Any:
        if cls in self.classes:
            return self.classes[cls]
        # recursion (ObjectDirectory contains ObjectDirectory): refer to it by name meanwhile
        self.classes[cls] = cls.__name__  # type: ignore[assignment]
        specs = []
        for f in struct_info(cls).fields:
            annotation = python_type(f.type, self.dataclass_for)
            if f.required:
                default = dataclasses.field(metadata={"wire": f.encode_name})
            else:
                default = dataclasses.field(default=f.default, metadata={"wire": f.encode_name})
            specs.append((f.name, annotation, default))
        made = dataclasses.make_dataclass(cls.__name__, specs, kw_only=True)
        self.classes[cls] = _DATACLASSES[cls.__name__] = made
        return made

    # -- encode: dataclass -> JSON

    def dumps(self, obj: Any) -> bytes:
        return json.dumps(to_json(obj), separators=(",", ":")).encode()

    # -- decode: JSON -> dataclass

    def loads(self, cls: type, data: bytes) -> Any:
        return from_json(cls, json.loads(data))

    def convert(self, obj: msgspec.Struct) -> Any:
        return self.loads(self.dataclass_for(type(obj)), schema.encode(obj))


_DATACLASSES: dict[str, type] = {}  # forward references of recursive types, by name


@functools.cache
def plan(cls: type) -> tuple[tuple[str, str, Any, Any], ...]:
    """(attribute, wire name, default, annotation) per field, computed once per class."""
    return tuple((f.name, f.metadata["wire"], f.default, f.type) for f in dataclasses.fields(cls))


def to_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for name, wire, default, _ in plan(type(value)):
            item = getattr(value, name)
            if default is not dataclasses.MISSING and item == default:
                continue  # omitempty
            out[wire] = to_json(item)
        return out
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def from_json(annotation: Any, data: Any) -> Any:
    if annotation is Any or data is None:
        return data
    if isinstance(annotation, str | typing.ForwardRef):
        name = annotation if isinstance(annotation, str) else annotation.__forward_arg__
        annotation = _DATACLASSES[name]
    origin = typing.get_origin(annotation)
    if origin is types.UnionType or origin is typing.Union:
        arms = [a for a in typing.get_args(annotation) if a is not type(None)]
        return from_json(arms[0], data)
    if origin is Annotated:
        return from_json(typing.get_args(annotation)[0], data)
    if origin is list:
        (item,) = typing.get_args(annotation)
        return [from_json(item, v) for v in data]
    if origin is tuple:
        return tuple(
            from_json(t, v) for t, v in zip(typing.get_args(annotation), data, strict=True)
        )
    if origin is dict:
        key, value = typing.get_args(annotation)
        return {from_json(key, k): from_json(value, v) for k, v in data.items()}
    if dataclasses.is_dataclass(annotation):
        kwargs = {}
        for name, wire, _, field_type in plan(typing.cast(type, annotation)):
            if wire in data:
                kwargs[name] = from_json(field_type, data[wire])
        return typing.cast(Any, annotation)(**kwargs)
    if annotation is datetime.datetime:
        return datetime.datetime.fromisoformat(data)
    if annotation is uuid.UUID:
        return uuid.UUID(data)
    if annotation is bytes:
        return base64.b64decode(data)
    if annotation is int and isinstance(data, str):
        return int(data)  # dict keys
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return annotation(data)
    return data


class PydanticMirror:
    """One pydantic v2 model per schema struct: aliases = wire names, same int ranges."""

    def __init__(self) -> None:
        import pydantic

        self.pydantic = pydantic
        self.models: dict[type[msgspec.Struct], Any] = {}
        self.building: set[type[msgspec.Struct]] = set()
        self.config = pydantic.ConfigDict(
            populate_by_name=True, ser_json_bytes="base64", val_json_bytes="base64"
        )

    def model_for(self, cls: type[msgspec.Struct]) -> Any:
        if cls in self.models:
            return self.models[cls]
        if cls in self.building:  # recursion: a forward reference, resolved by rebuild()
            return cls.__name__
        self.building.add(cls)
        fields: dict[str, Any] = {}
        for f in struct_info(cls).fields:
            annotation = self.annotation(f.type)
            if f.required:
                spec = self.pydantic.Field(alias=f.encode_name)
            else:
                spec = self.pydantic.Field(default=f.default, alias=f.encode_name)
            fields[f.name] = (annotation, spec)
        model = self.pydantic.create_model(cls.__name__, __config__=self.config, **fields)
        self.models[cls] = model
        self.building.discard(cls)
        return model

    def annotation(self, info: mi.Type) -> Any:
        if isinstance(info, mi.IntType):
            return Annotated[int, self.pydantic.Field(ge=info.ge, le=info.le)]
        if isinstance(info, mi.ListType):
            return list[self.annotation(info.item_type)]  # type: ignore[misc]
        if isinstance(info, mi.DictType):
            key, value = self.annotation(info.key_type), self.annotation(info.value_type)
            return dict[key, value]  # type: ignore[valid-type]
        if isinstance(info, mi.UnionType):
            return functools.reduce(
                lambda a, b: typing.Union[a, b],  # noqa: UP007 - arms may be forward refs
                (self.annotation(t) for t in info.types),
            )
        if isinstance(info, mi.TupleType):
            return tuple[tuple(self.annotation(t) for t in info.item_types)]  # type: ignore[misc]
        return python_type(info, self.model_for)

    def rebuild(self) -> None:
        namespace = {m.__name__: m for m in self.models.values()}
        for model in self.models.values():
            model.model_rebuild(_types_namespace=namespace)

    def convert(self, obj: msgspec.Struct) -> Any:
        model = self.model_for(type(obj))
        self.rebuild()
        return model.model_validate_json(schema.encode(obj))


# --------------------------------------------------------------------------- timing


def per_op_us(operation: Callable[[], object], quick: bool) -> float:
    """Best time per call in microseconds over a few repeats of a calibrated loop."""
    budget, repeats = (0.05, 3) if quick else (0.3, 7)
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            operation()
        elapsed = time.perf_counter() - start
        if elapsed >= budget / 10 or number > 1_000_000:
            break
        number *= 2
    number = max(1, int(number * (budget / 10) / max(elapsed, 1e-9)))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            operation()
        best = min(best, (time.perf_counter() - start) / number)
    return best * 1e6


def same_json(*documents: bytes | str) -> None:
    parsed = [json.loads(d) for d in documents]
    for other in parsed[1:]:
        if other != parsed[0]:
            raise AssertionError("the implementations encode different JSON; fix the mirrors")


Operation = Callable[[], object]


def implementations(
    doc: msgspec.Struct, dataclass_mirror: DataclassMirror, pydantic_mirror: PydanticMirror | None
) -> dict[str, tuple[Operation, Operation]]:
    """(encode, decode) callables per implementation for one document, checked to agree."""
    cls = type(doc)
    data = schema.encode(doc)
    dc_cls = dataclass_mirror.dataclass_for(cls)
    dc_doc = dataclass_mirror.convert(doc)
    found: dict[str, tuple[Operation, Operation]] = {
        "msgspec": (lambda: schema.encode(doc), lambda: schema.decode(data, cls)),
        STDLIB: (
            lambda: dataclass_mirror.dumps(dc_doc),
            lambda: dataclass_mirror.loads(dc_cls, data),
        ),
    }
    outputs = [schema.encode(doc), dataclass_mirror.dumps(dc_doc)]
    if pydantic_mirror is not None:
        model_doc = pydantic_mirror.convert(doc)
        model = type(model_doc)
        found[PYDANTIC] = (
            lambda: model_doc.model_dump_json(by_alias=True, exclude_defaults=True),
            lambda: model.model_validate_json(data),
        )
        outputs.append(model_doc.model_dump_json(by_alias=True, exclude_defaults=True))
    same_json(*outputs)
    round_trip = dataclass_mirror.dumps(dataclass_mirror.loads(dc_cls, data))
    if schema.decode(round_trip, cls) != doc:
        raise AssertionError("the dataclass baseline does not round-trip the document")
    return found


def run(quick: bool = False) -> list[dict[str, object]]:
    """Measure every (document, direction, baseline) and return the result rows."""
    dataclass_mirror = DataclassMirror()
    try:
        pydantic_mirror: PydanticMirror | None = PydanticMirror()
    except ImportError:
        print("bench_schema: pydantic is not installed; skipping its rows", file=sys.stderr)
        pydantic_mirror = None

    documents: list[tuple[str, msgspec.Struct]] = [
        ("ComputeSystem(container)", container_document()),
        ("Properties(stats+100 processes)", properties_response()),
    ]
    rows: list[dict[str, object]] = []
    for label, doc in documents:
        operations = implementations(doc, dataclass_mirror, pydantic_mirror)
        for direction, index in (("encode", 0), ("decode", 1)):
            ours = per_op_us(operations["msgspec"][index], quick)
            for baseline in (STDLIB, PYDANTIC):
                if baseline not in operations:
                    continue
                theirs = per_op_us(operations[baseline][index], quick)
                ratio = round(theirs / ours, 2)  # judged as displayed
                rows.append(
                    {
                        "name": "schema",
                        "metric": f"{label} {direction}",
                        "unit": "us",
                        "value": round(ours, 3),
                        "baseline": baseline,
                        "baseline_value": round(theirs, 3),
                        "ratio": ratio,
                        "target": TARGETS[baseline],
                        "ok": ratio >= TARGETS[baseline],
                    }
                )
    return rows


def format_table(rows: list[dict[str, object]]) -> str:
    header = f"{'metric':<42} {'msgspec us':>11} {'baseline':<24} {'base us':>10} {'ratio':>7} {'target':>7}  ok"
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row['metric']!s:<42} {row['value']!s:>11} {row['baseline']!s:<24} "
            f"{row['baseline_value']!s:>10} {row['ratio']!s:>6}x {row['target']!s:>6}x  "
            f"{'yes' if row['ok'] else 'NO'}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(format_table(run(quick="--quick" in sys.argv[1:])))
