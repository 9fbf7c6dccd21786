"""``hcsaio list``: the compute systems, one line each.

HcsEnumerateComputeSystems gives each system's basic properties; the
uptime, process count and memory need each system opened and asked for
its Statistics and ProcessList (a few at a time). Systems without them
(created, stopped) show ``-``.
"""

from __future__ import annotations

import argparse
from typing import Final

from .. import enumerate_compute_systems
from ..schema import v2
from . import _human
from ._context import QUERY_TIMEOUT, Context
from ._output import STATE_STYLES, Cell, Column
from ._parser import Parser, add_command, add_json, usage_error
from ._query import bounded_map, live_snapshot

#: Filters HCS applies itself (a ComputeSystemQuery), and the one hcsaio applies.
QUERY_FILTERS: Final = ("id", "name", "owner", "type")
LOCAL_FILTERS: Final = ("state",)

COLUMNS: Final = [
    Column("ID"),
    Column("STATE"),
    Column("OWNER"),
    Column("TYPE"),
    Column("UPTIME", ">"),
    Column("PROCESSES", ">"),
    Column("MEMORY", ">"),
]


def register(commands: argparse._SubParsersAction[Parser], parents: list[Parser]) -> None:
    parser = add_command(
        commands,
        "list",
        help="list compute systems",
        description=__doc__ or "",
        handler=list_command,
        parents=parents,
        aliases=["ls"],
    )
    parser.add_argument("-a", "--all", action="store_true", help="include stopped systems")
    parser.add_argument(
        "-f",
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="only systems whose id, name, owner, type or state is VALUE "
        "(repeat a key for either value)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="only the ids")
    add_json(parser, "a JSON array of Properties documents")


def parse_filters(args: argparse.Namespace) -> dict[str, list[str]]:
    filters: dict[str, list[str]] = {}
    for spec in args.filter:
        key, eq, value = spec.partition("=")
        key = key.strip().lower()
        if not eq or key not in (*QUERY_FILTERS, *LOCAL_FILTERS):
            keys = ", ".join((*QUERY_FILTERS, *LOCAL_FILTERS))
            raise usage_error(args, f"--filter wants KEY=VALUE with KEY one of {keys}: {spec!r}")
        filters.setdefault(key, []).append(value)
    return filters


def _wanted(props: v2.Properties, args: argparse.Namespace, states: list[str] | None) -> bool:
    stopped = props.stopped or props.state == "Stopped"
    if stopped and not args.all and states is None:
        return False
    return states is None or props.state.lower() in (s.lower() for s in states)


def row(props: v2.Properties) -> list[Cell]:
    stats = props.statistics
    uptime = _human.duration(_human.ticks_to_seconds(stats.uptime100ns)) if stats else "-"
    processes = str(len(props.process_list)) if props.process_list is not None else "-"
    memory = "-"
    if stats is not None and stats.memory is not None:
        used = stats.memory.memory_usage_private_working_set_bytes
        memory = _human.size(used) if used else "-"
    return [
        Cell(props.id),
        Cell(props.state or "-", STATE_STYLES.get(props.state)),
        Cell(props.owner or "-"),
        Cell(props.system_type or "-"),
        Cell(uptime),
        Cell(processes),
        Cell(memory),
    ]


async def list_command(args: argparse.Namespace, ctx: Context) -> int:
    filters = parse_filters(args)
    ctx.note_private_service()
    systems = await enumerate_compute_systems(
        ids=filters.get("id"),
        names=filters.get("name"),
        owners=filters.get("owner"),
        types=filters.get("type"),
        timeout=QUERY_TIMEOUT,
    )
    systems = [s for s in systems if _wanted(s, args, filters.get("state"))]
    systems.sort(key=lambda s: s.id)
    if args.quiet:
        for system in systems:
            ctx.out.line(system.id)
        return 0
    snapshots = [s for s in await bounded_map(systems, live_snapshot) if s is not None]
    if args.json:
        ctx.out.json(snapshots)
    else:
        ctx.out.table(COLUMNS, [row(s) for s in snapshots])
    return 0
