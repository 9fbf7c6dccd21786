"""``hcsaio inspect``, ``hcsaio ps`` and ``hcsaio service``: one thing, in detail."""

from __future__ import annotations

import argparse
import datetime
import json
import os
from typing import Any, Final

from .. import capabilities, open_compute_system, service_properties
from ..schema import v2
from . import _human
from ._context import QUERY_TIMEOUT, Context
from ._output import Cell, Column
from ._parser import Parser, add_command, add_json
from ._query import everything
from ._service_choice import ENV_SOCKET

PS_COLUMNS: Final = [
    Column("PID", ">"),
    Column("NAME"),
    Column("STARTED", ">"),
    Column("CPU TIME", ">"),
    Column("PRIVATE", ">"),
    Column("SHARED", ">"),
    Column("COMMIT", ">"),
]


def register(commands: argparse._SubParsersAction[Parser], parents: list[Parser]) -> None:
    inspect = add_command(
        commands,
        "inspect",
        help="a compute system's properties, as JSON",
        description="A compute system's properties as JSON (a v2 Properties document): the "
        "basic ones and every property type the system answers for.",
        handler=inspect_command,
        parents=parents,
    )
    inspect.add_argument("id", metavar="ID")
    inspect.add_argument(
        "-p",
        "--property",
        action="append",
        choices=[t.value for t in v2.PropertyType],
        metavar="TYPE",
        help="ask only for this property type (repeatable): "
        + ", ".join(t.value for t in v2.PropertyType),
    )
    add_json(inspect, "accepted for symmetry: the output is always JSON")

    ps = add_command(
        commands,
        "ps",
        help="the processes of a compute system",
        handler=ps_command,
        parents=parents,
    )
    ps.add_argument("id", metavar="ID")
    add_json(ps, "a JSON array of ProcessDetails documents")

    service = add_command(
        commands,
        "service",
        help="the HCS service's properties and the backend in use",
        handler=service_command,
        parents=parents,
    )
    service.add_argument(
        "-p",
        "--property",
        action="append",
        metavar="TYPE",
        help="service property type to ask for (repeatable; default: Basic)",
    )
    add_json(service, "the ServiceProperties document")


async def inspect_command(args: argparse.Namespace, ctx: Context) -> int:
    ctx.note_private_service()
    async with await open_compute_system(args.id, timeout=QUERY_TIMEOUT) as container:
        if args.property:
            props = await container.properties(args.property, timeout=QUERY_TIMEOUT)
        else:
            props = await everything(container)
    ctx.out.json(props)
    return 0


def ps_row(process: v2.ProcessDetails, now: datetime.datetime) -> list[Cell | str]:
    cpu = _human.ticks_to_seconds(process.user_time100ns + process.kernel_time100ns)
    return [
        str(process.process_id),
        process.image_name or "-",
        _human.age(process.create_timestamp, now),
        _human.cpu_time(cpu),
        _human.size(process.memory_working_set_private_bytes),
        _human.size(process.memory_working_set_shared_bytes),
        _human.size(process.memory_commit_bytes),
    ]


async def ps_command(args: argparse.Namespace, ctx: Context) -> int:
    ctx.note_private_service()
    async with await open_compute_system(args.id, timeout=QUERY_TIMEOUT) as container:
        processes = await container.process_list(timeout=QUERY_TIMEOUT)
    processes.sort(key=lambda p: p.process_id)
    if args.json:
        ctx.out.json(processes)
        return 0
    now = datetime.datetime.now(datetime.UTC)
    ctx.out.table(PS_COLUMNS, [ps_row(p, now) for p in processes])
    return 0


def _versions(answer: Any) -> str | None:
    if not isinstance(answer, dict) or "SupportedSchemaVersions" not in answer:
        return None
    versions = answer["SupportedSchemaVersions"] or []
    return ", ".join(f"{v.get('Major', 0)}.{v.get('Minor', 0)}" for v in versions)


async def service_command(args: argparse.Namespace, ctx: Context) -> int:
    types = args.property or ["Basic"]
    props = await service_properties(types)
    if args.json:
        ctx.out.json(props)
        return 0
    loaded = capabilities()  # already loaded by the call above: no new work
    rows: list[tuple[str, str]] = [("Backend", f"{loaded.backend} ({loaded.library})")]
    if loaded.backend == "emulator":
        kind = {"private": "private to this command"}.get(ctx.service, "shared")
        rows.append(("Emulator service", f"{os.environ.get(ENV_SOCKET, '?')} ({kind})"))
    if loaded.missing:
        rows.append(("Missing exports", ", ".join(loaded.missing)))
    extra: list[tuple[str, Any]] = []
    for kind, answer in zip(types, props.properties or [], strict=False):
        versions = _versions(answer)
        if versions is not None:
            rows.append(("Supported schema versions", versions))
        elif kind == "ProcessorTopology" and isinstance(answer, dict):
            rows.append(("Logical processors", str(answer.get("LogicalProcessorCount", "?"))))
        else:
            extra.append((kind, answer))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        ctx.out.line(f"{ctx.out.style(name.ljust(width), 'bold')}  {value}")
    for kind, answer in extra:
        ctx.out.line(f"{ctx.out.style(kind, 'bold')}:")
        ctx.out.line(json.dumps(answer, indent=2))
    return 0
