"""``hcsaio events [ID]``: HCS's events as they happen, one line each.

With an ID: that system's events until it exits. Without: the events of
every system, until Ctrl-C. HCS has no "system created" notification, so
new systems are found by enumerating every ``--interval`` seconds (default
2); a system that is created and exits between two enumerations goes
unseen. Each line has the local time, the system id, the event class and,
for SystemExited, the exit type and status HRESULT; ``--json`` prints one
object per line: ``{"Time", "Id", "Event", "Type", "Data"}`` where Data is
HCS's payload (a SystemExitStatus for SystemExited).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
from typing import Any, Final

from .. import (
    Event,
    ServiceDisconnected,
    SystemExited,
    UnknownEvent,
    enumerate_compute_systems,
    errors,
    open_compute_system,
)
from ._context import QUERY_TIMEOUT, Context
from ._errors import CliError
from ._human import timestamp
from ._parser import Parser, add_command, add_json, seconds

DISCOVERY_INTERVAL: Final = 2.0
EVENT_STYLES: Final = {"SystemExited": "yellow", "ServiceDisconnected": "red"}


def register(commands: argparse._SubParsersAction[Parser], parents: list[Parser]) -> None:
    parser = add_command(
        commands,
        "events",
        help="HCS events of one or all compute systems",
        description=__doc__ or "",
        handler=events_command,
        parents=parents,
    )
    parser.add_argument("id", nargs="?", metavar="ID")
    parser.add_argument(
        "--interval",
        type=seconds,
        default=DISCOVERY_INTERVAL,
        metavar="S",
        help=f"without ID: how often to look for new systems (default {DISCOVERY_INTERVAL:g})",
    )
    add_json(parser, "one JSON object per event per line")


def event_name(event: Event) -> str:
    if isinstance(event, UnknownEvent):
        return f"Unknown(0x{event.type:08X})"
    return type(event).__name__


def _payload(event: Event) -> Any:
    try:
        return event.json()
    except ValueError:
        return event.data.decode("utf-8", "replace") if event.data else None


def details(event: Event) -> str:
    if isinstance(event, SystemExited):
        status = event.status
        return f"exit_type={status.exit_type or '-'} status=0x{status.status & 0xFFFFFFFF:08X}"
    payload = _payload(event)
    return "" if payload is None else json.dumps(payload, separators=(",", ":"))


class Printer:
    def __init__(self, ctx: Context, as_json: bool) -> None:
        self._out = ctx.out
        self._json = as_json

    def emit(self, system_id: str, event: Event) -> None:
        now = datetime.datetime.now().astimezone()
        name = event_name(event)
        if self._json:
            record = {
                "Time": timestamp(now),
                "Id": system_id,
                "Event": name,
                "Type": event.type,
                "Data": _payload(event),
            }
            self._out.json(record, pretty=False)
            return
        parts = [timestamp(now), system_id, self._out.style(name, EVENT_STYLES.get(name))]
        extra = details(event)
        self._out.line("  ".join([*parts, extra] if extra else parts))
        self._out.flush()


async def _follow(system_id: str, printer: Printer) -> bool:
    """Print the system's events until it exits; True if the service went away."""
    async with await open_compute_system(system_id, timeout=QUERY_TIMEOUT) as container:
        async for event in container.events():
            printer.emit(system_id, event)
            if isinstance(event, ServiceDisconnected):
                return True
    return False


async def events_command(args: argparse.Namespace, ctx: Context) -> int:
    ctx.note_private_service()
    printer = Printer(ctx, args.json)
    if args.id is not None:
        if await _follow(args.id, printer):
            raise CliError("the HCS service disconnected")
        return 0
    await _follow_all(printer, args.interval)
    return 0


async def _follow_all(printer: Printer, interval: float) -> None:
    followed: set[str] = set()

    async def follow(system_id: str) -> None:
        try:
            if await _follow(system_id, printer):
                raise CliError("the HCS service disconnected")
        except errors.NotFound:
            pass  # gone between enumeration and open
        finally:
            followed.discard(system_id)

    async with asyncio.TaskGroup() as tasks:
        while True:
            for props in await enumerate_compute_systems(timeout=QUERY_TIMEOUT):
                running = not (props.stopped or props.state == "Stopped")
                if running and props.id not in followed:
                    followed.add(props.id)
                    tasks.create_task(follow(props.id))
            await asyncio.sleep(interval)
