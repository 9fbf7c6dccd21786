"""What an operation hands back to the dispatcher for its REPLY frame."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ._requests import RequestContext


@dataclass
class Reply:
    document: str | None = None  # the result document (UTF-8 JSON)
    pid: int = 0  # process replies: the HCS process id
    fds: list[int | None] = field(default_factory=list)  # stdin, stdout, stderr to pass


Work = Callable[[RequestContext], Awaitable[Reply]]
