"""All compute systems of the service, by (namespace, id)."""

from __future__ import annotations

from collections.abc import Iterator

from ._documents import SystemDocument
from ._hresults import E_INVALIDARG, HCS_E_SYSTEM_ALREADY_EXISTS, HcsFailure
from ._systems import ComputeSystem

MAX_ID_LENGTH = 256


def check_id(value: str, what: str, *, allow_empty: bool = False) -> None:
    """Ids name directories and cgroups in the namespace runtime, so the
    emulator is stricter than HCS: 1-256 printable characters, no slash or
    backslash, not "." or ".."."""
    if value == "" and allow_empty:
        return
    bad = (
        not value
        or len(value) > MAX_ID_LENGTH
        or value in (".", "..")
        or any(ch in "/\\" or ord(ch) < 32 or ord(ch) == 127 for ch in value)
    )
    if bad:
        raise HcsFailure(
            E_INVALIDARG,
            f"{value!r} is not a valid {what}: use 1-{MAX_ID_LENGTH} printable characters "
            "without '/' or '\\'.",
        )


class SystemRegistry:
    def __init__(self) -> None:
        self._systems: dict[tuple[str, str], ComputeSystem] = {}

    def reserve(self, namespace: str, system_id: str, document: SystemDocument) -> ComputeSystem:
        key = (namespace, system_id)
        if key in self._systems:
            raise HcsFailure(
                HCS_E_SYSTEM_ALREADY_EXISTS, f"A compute system with id {system_id!r} exists."
            )
        system = ComputeSystem(namespace, system_id, document, self.remove)
        self._systems[key] = system
        return system

    def find(self, namespace: str, system_id: str) -> ComputeSystem | None:
        return self._systems.get((namespace, system_id))

    def remove(self, system: ComputeSystem) -> None:
        system.removed = True
        if self._systems.get((system.namespace, system.id)) is system:
            del self._systems[(system.namespace, system.id)]

    def in_namespace(self, namespace: str) -> list[ComputeSystem]:
        return [
            s
            for s in self._systems.values()
            if s.namespace == namespace and s.ready.done() and s.ready.exception() is None
        ]

    def __iter__(self) -> Iterator[ComputeSystem]:
        return iter(list(self._systems.values()))

    def __len__(self) -> int:
        return len(self._systems)
