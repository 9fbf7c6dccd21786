"""fork(): the child of a process using libhcsemu starts afresh (its own
connection, its own callback threads); the parent is unaffected."""

from __future__ import annotations

import os
import threading
from typing import Any

from . import hcsemu_abi as abi
from .hcsemu_abi import ffi


def test_child_after_fork_connects_afresh(hcs: abi.Library, sysid: str) -> None:
    system = hcs.running_system(sysid)
    assert hcs.set_faults({"GetProperties": 0.5}) == abi.S_OK
    pending = hcs.op()
    assert hcs.HcsGetComputeSystemProperties(system, pending, ffi.NULL) == abi.S_OK
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no Python-level cleanup, report through the pipe
        status = 1
        try:
            # The parent's operation cannot complete here: it fails at once.
            code, _ = hcs.wait(pending, 5_000)
            assert code == abi.HCS_E_SERVICE_DISCONNECT, hex(code)
            # The parent's handles are dead here; new calls connect again.
            assert (
                hcs.system_call("HcsStartComputeSystem", system)[0] == abi.HCS_E_SERVICE_DISCONNECT
            )
            done = threading.Event()

            @ffi.callback("HCS_OPERATION_COMPLETION")
            def on_done(op: Any, context: Any) -> None:
                done.set()

            op = hcs.HcsCreateOperation(ffi.NULL, on_done)
            assert hcs.HcsEnumerateComputeSystems(ffi.NULL, op) == abi.S_OK
            assert done.wait(30)  # new callback threads run in the child
            assert hcs.wait(op)[0] == abi.S_OK
            status = 0
        finally:
            os.write(write_end, bytes([status]))
            os._exit(status)
    os.close(write_end)
    _, wait_status = os.waitpid(pid, 0)
    assert os.read(read_end, 1) == b"\x00" and os.waitstatus_to_exitcode(wait_status) == 0
    os.close(read_end)
    # The parent's connection and operation carry on.
    assert hcs.wait(pending)[0] == abi.S_OK
    hcs.HcsCloseOperation(pending)
    assert hcs.properties(system)["State"] == "Running"
    hcs.system_call("HcsTerminateComputeSystem", system)
    hcs.HcsCloseComputeSystem(system)
