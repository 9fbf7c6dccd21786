"""What every command gets besides its arguments."""

from __future__ import annotations

from dataclasses import dataclass

from ._interrupts import Interrupts
from ._output import Output
from ._progress import Progress
from ._service_choice import PRIVATE_SERVICE_NOTE, ServiceChoice

#: Timeout of the quick HCS calls a command makes on the side (open, query, close).
QUERY_TIMEOUT = 30.0


@dataclass
class Context:
    out: Output
    interrupts: Interrupts
    debug: bool
    service: ServiceChoice

    def progress(self, message: str) -> Progress:
        return Progress(message, self.out.stderr, prog=self.out.prog)

    def note_private_service(self) -> None:
        """Commands that look at existing systems explain an empty answer."""
        if self.service == "private":
            self.out.note(PRIVATE_SERVICE_NOTE)
