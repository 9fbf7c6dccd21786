"""The emulator service: accept clients, run until told to stop, clean up.

Stopping (SIGTERM, SIGINT, STOP_SERVICE, or the lifeline closing because
the process that started the service died) always takes the same path:
stop accepting, cancel what clients are waiting for, terminate every
compute system (SystemExited with ExitType UnexpectedExit), close the
clients, remove the socket, release the standby container shims.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys

from .compute._calls_system import settled
from .compute._context import ServiceContext
from .compute._dispatch import Dispatcher
from .compute._hresults import HcsFailure
from .compute._systems import ComputeSystem, State
from .runtimes import _watchdog
from .runtimes._runtime_host import sweep_lingering
from .runtimes._runtime_select import ServiceMode
from .wire._listen import listen, peer_allowed, remove_socket
from .wire._requests import detached
from .wire._session import Session, peer_credentials

log = logging.getLogger("hcsaio.emulator")

PR_SET_CHILD_SUBREAPER = 36
STOP_TIMEOUT = 60.0


def become_subreaper() -> None:
    """Orphans of a compute system's processes re-parent to the service
    instead of init, so it can reap them (the host runtime relies on it)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        log.warning("prctl(PR_SET_CHILD_SUBREAPER) failed: errno %d", ctypes.get_errno())


class EmulatorService:
    def __init__(
        self,
        socket_path: str,
        mode: ServiceMode = "auto",
        *,
        lifeline_fd: int | None = None,
        ready_fd: int | None = None,
    ) -> None:
        self.socket_path = os.path.abspath(socket_path)
        self.mode: ServiceMode = mode
        self._lifeline_fd = lifeline_fd
        self._ready_fd = ready_fd
        self._stop = asyncio.Event()

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        context = ServiceContext(self.mode, request_stop=self.request_stop)
        dispatcher = Dispatcher(context)
        context.clients = lambda: len(dispatcher.sessions)
        server, inode = listen(self.socket_path)
        watchdog = _watchdog.start()  # first, while the service has no threads
        become_subreaper()
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(signum, self.request_stop)
        loop.add_signal_handler(signal.SIGCHLD, sweep_lingering)
        _quiet_signal_wakeups()
        if self._lifeline_fd is not None:
            loop.add_reader(self._lifeline_fd, self._lifeline_readable)
        accepting = asyncio.create_task(self._accept(server, dispatcher))
        self._announce_ready()
        log.info("serving %s (mode %s, pid %d)", self.socket_path, self.mode, os.getpid())
        try:
            await self._stop.wait()
        finally:
            accepting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await accepting
            server.close()
            remove_socket(self.socket_path, inode)
            if self._lifeline_fd is not None:
                loop.remove_reader(self._lifeline_fd)
            await self._shut_down(context, dispatcher)
            watchdog.close()
            log.info("stopped")

    def _announce_ready(self) -> None:
        if self._ready_fd is not None:
            with contextlib.suppress(OSError):
                os.write(self._ready_fd, b"ready\n")
            os.close(self._ready_fd)
            self._ready_fd = None

    def _lifeline_readable(self) -> None:
        # Nobody writes to the lifeline: readable means its writer is gone.
        try:
            data = os.read(self._lifeline_fd, 64) if self._lifeline_fd is not None else b""
        except OSError:
            data = b""
        if not data:
            log.info("the process that started the service is gone; stopping")
            self.request_stop()

    async def _accept(self, server: socket.socket, dispatcher: Dispatcher) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _ = await loop.sock_accept(server)
            except OSError as err:  # EMFILE and friends: keep serving the others
                log.warning("accept failed: %s", err)
                await asyncio.sleep(0.1)
                continue
            peer = peer_credentials(conn)
            if not peer_allowed(peer):
                log.warning("refused pid %d uid %d: not this user or root", peer.pid, peer.uid)
                conn.close()
                continue
            session = Session(conn, peer, dispatcher)
            dispatcher.sessions.add(session)
            dispatcher.spawn(session.serve())

    async def _shut_down(self, context: ServiceContext, dispatcher: Dispatcher) -> None:
        for session in list(dispatcher.sessions):
            for request in list(session.requests.values()):
                request.cancel()
        try:
            await asyncio.wait_for(
                asyncio.gather(*(_terminate(s) for s in context.registry)), STOP_TIMEOUT
            )
        except TimeoutError:
            log.error("compute systems did not stop within %.0f s", STOP_TIMEOUT)
        for session in list(dispatcher.sessions):
            session.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(dispatcher.drain(), STOP_TIMEOUT)
        await _close_standby_shims()


async def _close_standby_shims() -> None:
    """Kill the namespace runtime's standby shims and remove their cgroups
    now, not at interpreter exit: the service is done with them (an embedding
    process may live on). Never imported, never started any."""
    launch = sys.modules.get("hcsaio.emulator.runtimes._shim_launch")
    if launch is not None:
        # it waits for the background cgroup chores: not on the event loop
        await asyncio.to_thread(launch.close_standby_shims)


async def _terminate(system: ComputeSystem) -> None:
    await settled(system.ready)
    if system.ready.exception() is None and system.state != State.STOPPED:
        with contextlib.suppress(HcsFailure):
            await system.stop(detached(), grace=None, forced=True, exit_type="UnexpectedExit")


def _quiet_signal_wakeups() -> None:
    """Thousands of SIGCHLDs at once (a mass terminate) fill asyncio's signal
    wake-up socket; CPython then prints a warning per signal on stderr,
    which the service shares with its client. A full socket already means
    "wake up", and asyncio handles every pending signal on each wake-up, so
    the dropped bytes lose nothing: keep the same fd, without the warning."""
    fd = signal.set_wakeup_fd(-1)
    if fd != -1:
        signal.set_wakeup_fd(fd, warn_on_full_buffer=False)
