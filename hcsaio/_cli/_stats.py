"""``hcsaio stats ID...``: live resource use, refreshed every ``--interval``.

CPU % is the processor time the system used between two samples divided
by the wall time between them (100% = one processor busy), so the first
figure appears with the second sample (``--no-stream`` takes two, half a
second apart). Memory is the private working set against the memory the
system was given. The view ends on Ctrl-C or when every system has
stopped. ``--json`` prints one Properties document (Statistics,
ProcessList, Memory) per system per sample, one per line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Final

from .. import Container, errors, open_compute_system
from ..schema import v2
from . import _human
from ._context import QUERY_TIMEOUT, Context
from ._output import STATE_STYLES, Cell, Column
from ._parser import Parser, add_command, add_json, seconds
from ._query import NOT_AVAILABLE, bounded_map

#: The first sample of --no-stream waits this long for the second (CPU %).
PRIMING: Final = 0.5
CLEAR_SCREEN: Final = "\x1b[H\x1b[J"

COLUMNS: Final = [
    Column("ID"),
    Column("STATE"),
    Column("CPU %", ">"),
    Column("MEM USAGE / LIMIT", ">"),
    Column("MEM %", ">"),
    Column("PROCESSES", ">"),
    Column("READ / WRITE", ">"),
    Column("UPTIME", ">"),
]


def register(commands: argparse._SubParsersAction[Parser], parents: list[Parser]) -> None:
    parser = add_command(
        commands,
        "stats",
        help="live resource use of compute systems",
        description=__doc__ or "",
        handler=stats_command,
        parents=parents,
    )
    parser.add_argument("ids", nargs="+", metavar="ID")
    parser.add_argument("--no-stream", action="store_true", help="one sample, then exit")
    parser.add_argument(
        "--interval", type=seconds, default=1.0, metavar="S", help="refresh period (default 1)"
    )
    add_json(parser, "one Properties document per system per sample, one per line")


@dataclass
class Watched:
    container: Container
    with_memory: bool = True
    previous: v2.Statistics | None = None
    cpu: float | None = None
    latest: v2.Properties = field(default_factory=v2.Properties)


async def sample(watched: Watched) -> v2.Properties:
    container = watched.container
    types = ["Statistics", "ProcessList", *(["Memory"] if watched.with_memory else [])]
    try:
        props = await container.properties(types, timeout=QUERY_TIMEOUT)
    except errors.NotSupported:
        if not watched.with_memory:
            raise
        watched.with_memory = False  # a host without the Memory property: ask without it
        return await sample(watched)
    except NOT_AVAILABLE:
        props = await container.properties(timeout=QUERY_TIMEOUT)  # stopped, created ...
    _update_cpu(watched, props.statistics)
    watched.latest = props
    return props


def _update_cpu(watched: Watched, stats: v2.Statistics | None) -> None:
    before, watched.previous = watched.previous, stats
    if stats is None or before is None or stats.timestamp is None or before.timestamp is None:
        watched.cpu = None
        return
    wall = (stats.timestamp - before.timestamp).total_seconds()
    if wall <= 0 or stats.processor is None or before.processor is None:
        return  # same sample twice: keep the last figure
    used = _human.ticks_to_seconds(
        stats.processor.total_runtime100ns - before.processor.total_runtime100ns
    )
    watched.cpu = max(0.0, 100.0 * used / wall)


def stopped(props: v2.Properties) -> bool:
    return props.stopped or props.state == "Stopped"


def row(watched: Watched) -> list[Cell]:
    props = watched.latest
    stats = props.statistics
    used = limit = 0
    if stats is not None and stats.memory is not None:
        used = stats.memory.memory_usage_private_working_set_bytes
    vm_memory = props.memory.virtual_machine_memory if props.memory else None
    if vm_memory is not None:
        limit = vm_memory.assigned_memory * 1024 * 1024
    usage = "-"
    if used:  # zero: the host reports no memory figures for this system
        usage = f"{_human.size(used)} / {_human.size(limit) if limit else '-'}"
    io = "-"
    if stats is not None and stats.storage is not None:
        io = f"{_human.size(stats.storage.read_size_bytes)} / "
        io += _human.size(stats.storage.write_size_bytes)
    return [
        Cell(watched.container.id),
        Cell(props.state or "-", STATE_STYLES.get(props.state)),
        Cell(f"{watched.cpu:.1f}%" if watched.cpu is not None else "-"),
        Cell(usage),
        Cell(_human.percent(used, limit) if used else "-"),
        Cell(str(len(props.process_list)) if props.process_list is not None else "-"),
        Cell(io),
        Cell(_human.duration(_human.ticks_to_seconds(stats.uptime100ns)) if stats else "-"),
    ]


async def stats_command(args: argparse.Namespace, ctx: Context) -> int:
    ctx.note_private_service()
    async with contextlib.AsyncExitStack() as stack:
        watched = []
        for system_id in dict.fromkeys(args.ids):  # once each, in the order given
            container = await open_compute_system(system_id, timeout=QUERY_TIMEOUT)
            await stack.enter_async_context(container)
            watched.append(Watched(container))
        await _watch(watched, args, ctx)
    return 0


async def _watch(watched: list[Watched], args: argparse.Namespace, ctx: Context) -> None:
    live_view = ctx.out.stdout.isatty() and not args.json and not args.no_stream
    samples = 0
    while True:
        snapshot = await bounded_map(watched, sample)
        samples += 1
        if args.json:
            for props in snapshot:
                ctx.out.json(props, pretty=False)
        elif not args.no_stream or samples == 2:
            if live_view:
                ctx.out.stdout.write(CLEAR_SCREEN)
            elif samples > 1 and not args.no_stream:
                ctx.out.line()
            ctx.out.table(COLUMNS, [row(w) for w in watched])
            ctx.out.flush()
        if args.no_stream and (args.json or samples == 2):
            return
        if all(stopped(p) for p in snapshot):
            return
        await asyncio.sleep(PRIMING if args.no_stream else args.interval)
