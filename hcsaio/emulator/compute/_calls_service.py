"""Service-wide requests: properties, settings (fault injection), WER
reports, and stopping the service."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from ..wire._protocol import Frame, Kind
from ..wire._reply import Reply
from ..wire._requests import RequestContext
from . import _schema as schema
from ._documents import parse_optional
from ._hresults import E_INVALIDARG, ERROR_NOT_SUPPORTED, HcsFailure
from ._jsoncheck import any_object, get_str, parse_object
from ._properties import service_properties

if TYPE_CHECKING:
    from ..wire._session import Session
    from ._dispatch import Dispatcher

log = logging.getLogger("hcsaio.emulator")

# ModificationRequest.PropertyType values HCS knows but the emulator cannot apply.
_UNSUPPORTED_SETTINGS = frozenset({"CpuGroup", "ContainerCredentialGuard"})


def service_query(d: Dispatcher, session: Session, frame: Frame) -> None:
    query = parse_optional(frame.text(0), schema.SERVICE_QUERY, "service property query")

    async def work(context: RequestContext) -> Reply:
        return Reply(json.dumps(service_properties(query, d.context.status())))

    d.run(session, frame, work)


def service_modify(d: Dispatcher, session: Session, frame: Frame) -> None:
    if not frame.text(0).strip():
        raise HcsFailure(E_INVALIDARG, "The service settings document is empty.")
    doc = parse_object(frame.text(0), schema.SERVICE_MODIFY, "service settings")
    kind = get_str(doc, "PropertyType")
    if kind == "EmulatorFaults":
        d.context.faults.configure(doc.get("Settings"))
        log.info("fault injection set by %r: %s", session, d.context.faults.describe())
    elif kind in _UNSUPPORTED_SETTINGS:
        raise HcsFailure(ERROR_NOT_SUPPORTED, f"The emulator cannot apply {kind!r} settings.")
    else:
        raise HcsFailure(
            E_INVALIDARG,
            f"{kind!r} is not a service setting the emulator knows (use EmulatorFaults).",
        )

    async def work(context: RequestContext) -> Reply:
        return Reply()

    d.run(session, frame, work)


def submit_wer(d: Dispatcher, session: Session, frame: Frame) -> None:
    if not frame.text(0).strip():
        raise HcsFailure(E_INVALIDARG, "The WER report is empty.")
    report = parse_object(frame.text(0), any_object, "crash report")

    async def work(context: RequestContext) -> Reply:
        # There is no Windows Error Reporting here: the report goes to the log.
        log.warning("WER report from %r: %s", session, json.dumps(report))
        return Reply()

    d.run(session, frame, work)


def stop_service(d: Dispatcher, session: Session, frame: Frame) -> None:
    async def work(context: RequestContext) -> Reply:
        log.info("stop requested by %r", session)
        d.context.request_stop()
        return Reply()

    d.run(session, frame, work)


HANDLERS = {
    Kind.SERVICE_QUERY: service_query,
    Kind.SERVICE_MODIFY: service_modify,
    Kind.SUBMIT_WER: submit_wer,
    Kind.STOP_SERVICE: stop_service,
}
