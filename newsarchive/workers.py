"""Worker processes called from the crawl's event loop over a socket.

The crawl runs extraction in one process and the archive writer in another, so the Scrapy process
only fetches and navigates. `WorkerProcess(name)` starts one; `await worker.call(function, *args)`
runs `function(*args)` there and returns its result (or raises its exception).

Why a socket and not a ProcessPoolExecutor: each submit to an executor wakes its management thread,
and a feeder thread pickles and sends the work; with two round trips per article those threads took
the GIL from the reactor thread several times per page, and the reactor thread is the crawl's
bottleneck. Here the event loop itself writes each call to a non-blocking socket and reads the
replies (which come back in order: a worker runs one call at a time), so the crawl process runs no
extra thread, and a full socket buffer never blocks the reactor.

Signals: a worker ignores SIGINT and SIGTERM. Ctrl-C goes to the whole process group, and `timeout`,
systemd and scrapyd send SIGTERM to every process of the crawl; the crawl process stops gracefully
(in-flight items stored, the run row finished) and only then closes its workers, which end when they
read the end of their socket. A worker that dies anyway (kill -9, out of memory) fails every call
with WorkerGone, and `on_lost` is told once, so the crawl can stop with one line.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import io
import logging
import pickle
import signal
import socket
import struct
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

logger = logging.getLogger(__name__)

# The frame header of multiprocessing's Connection, which the worker's end of the socket speaks:
# the length as a signed 32-bit big-endian integer, or -1 and then a 64-bit one from 2 GiB up.
_FRAME_HEADER = struct.Struct("!i")
_LONG_FRAME_HEADER = struct.Struct("!Q")
_HEADER_ROOM = _FRAME_HEADER.size + _LONG_FRAME_HEADER.size
# How long a worker gets to exit after its socket closes before it is terminated.
WORKER_EXIT_TIMEOUT = 10.0
# The signals a worker (and the forkserver it is forked from) must survive: the crawl process
# handles them and closes its workers when it is done.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


# Workers started and not yet closed, for the exit hook below.
_OPEN_WORKERS: weakref.WeakSet[WorkerProcess] = weakref.WeakSet()
_exit_hook_registered = False


def _end_workers_at_exit() -> None:
    """Close the sockets of workers the crawl process never closed, and wait for them to end.

    A stop signal that comes while the crawl starts (its pipelines opened, Scrapy not yet
    crawling) ends the process without closing its pipelines. multiprocessing's own exit hook
    would then terminate the workers with SIGTERM, which they ignore, and wait for them for ever:
    a crawl stopped by `timeout` or systemd at that moment never exited, nor the `newsarchive
    run` waiting for it, whose lock kept every later run away. Registered after multiprocessing's
    hook, this one runs first."""
    workers = [worker for worker in list(_OPEN_WORKERS) if worker.process.is_alive()]
    for worker in workers:
        with contextlib.suppress(OSError):
            worker.sock.shutdown(socket.SHUT_RDWR)
    deadline = time.monotonic() + WORKER_EXIT_TIMEOUT
    for worker in workers:
        worker.process.join(max(0.0, deadline - time.monotonic()))
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()


class WorkerGone(RuntimeError):
    """The worker process ended before answering (it was killed, or crashed)."""


def _serve(conn: Connection) -> None:
    """A worker process: run each (function, args) that comes down the socket and send back
    (True, result) or (False, exception), in order. It ends when the crawl process closes its end
    of the socket, which also happens when the crawl process is killed (even by SIGKILL)."""
    # A worker stopped midway by a signal meant for the crawl would lose what the crawl's graceful
    # stop still needs (the last items, the run row): the crawl process ends it by closing the
    # socket instead.
    for signum in _STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    _name_process()
    while True:
        try:
            function, args = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        try:
            reply = (True, function(*args))
        except Exception as exc:
            reply = (False, exc)
        del function, args  # the call's arguments (raw pages) are not kept while waiting
        try:
            payload = pickle.dumps(reply, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an exception or result that does not pickle
            payload = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
        del reply
        try:
            conn.send_bytes(payload)
        except OSError:
            return
        del payload


def _name_process() -> None:
    """Show the worker's name (`newsarchive-extract-1` -> `na-extract-1`) in ps and top, where
    every worker would otherwise be one more `python`: Linux keeps 15 characters of it."""
    import multiprocessing

    name = multiprocessing.current_process().name.replace("newsarchive-", "na-")
    with contextlib.suppress(OSError), open("/proc/self/comm", "w") as comm:
        comm.write(name[:15])


_forkserver_started = False

# A crawl holds a socket for each request in flight, the archive's two files with their -wal and
# -shm in more than one process, and a socket to each worker: under a soft limit of a few dozen,
# fetches, imports and the forkserver's hand-over failed with "Too many open files" midway
# (tracebacks, a listing's links lost). The soft limit is raised toward the hard one, as far as
# this, and a hard limit under OPEN_FILES_NEEDED refuses the crawl before it starts.
OPEN_FILES_WANTED = 4096
OPEN_FILES_NEEDED = 64


def raise_open_file_limit() -> None:
    """Raise this process's soft limit on open files (children inherit it) toward the hard one;
    NewsarchiveError when even the hard limit is too low for a crawl."""
    import resource

    from newsarchive.errors import NewsarchiveError

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    ceiling = OPEN_FILES_WANTED if hard == resource.RLIM_INFINITY else min(hard, OPEN_FILES_WANTED)
    if soft != resource.RLIM_INFINITY and soft < ceiling:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))
            soft = ceiling
    if soft != resource.RLIM_INFINITY and soft < OPEN_FILES_NEEDED:
        raise NewsarchiveError(
            f"the limit on open files is {soft} (`ulimit -n`); a crawl needs at least "
            f"{OPEN_FILES_NEEDED}"
        )


def start_forkserver() -> None:
    """Start multiprocessing's forkserver with SIGINT and SIGTERM ignored in it; the crawl calls
    this first thing, while its process has no other thread.

    The forkserver is a child of the crawl process, so it gets the process group's signals too;
    killed, it could not report its workers' exit codes (and could fork no worker for the next
    site). An ignored disposition survives fork and exec, and the forkserver's own children
    inherit it, so both are set to SIG_IGN while it starts, and blocked, so that one arriving
    meanwhile stays pending and reaches the crawl's own handler right after. That holds only in
    a process of one thread: another thread (Twisted's, once the reactor runs) would take the
    signal while it is ignored, and lose it — a crawl SIGTERMed as its pipelines started their
    workers ran to its end. Later calls (a forkserver already running) skip the exchange.
    """
    global _forkserver_started
    from multiprocessing import forkserver

    if _forkserver_started or threading.current_thread() is not threading.main_thread():
        forkserver.ensure_running()  # signal dispositions can only be changed from the main thread
        return
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    handlers = {signum: signal.signal(signum, signal.SIG_IGN) for signum in _STOP_SIGNALS}
    try:
        forkserver.ensure_running()
        _forkserver_started = True
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def exit_description(exitcode: int | None) -> str:
    """How a process ended, for a person: 'killed by SIGKILL', 'exit status 1'."""
    if exitcode is None:
        return "still running"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit status {exitcode}"


class WorkerProcess:
    """One worker process, called from the crawl's event loop over a socket."""

    def __init__(self, name: str, on_lost: Callable[[WorkerProcess], None] | None = None) -> None:
        import multiprocessing

        start_forkserver()
        ours, theirs = socket.socketpair()
        conn = Connection(theirs.detach())
        # forkserver: the worker does not inherit the reactor, its sockets, or our end of this one,
        # so it sees the end of the socket when the crawl process ends.
        context = multiprocessing.get_context("forkserver")
        self.process = context.Process(target=_serve, args=(conn,), name=name, daemon=True)
        self.process.start()
        conn.close()
        global _exit_hook_registered
        if not _exit_hook_registered:
            atexit.register(_end_workers_at_exit)
            _exit_hook_registered = True
        _OPEN_WORKERS.add(self)
        self.name = name
        self.on_lost = on_lost
        self.sock = ours
        self.pending: deque[asyncio.Future[Any]] = deque()
        self.transport: asyncio.Transport | None = None
        self.lost: BaseException | None = None
        self.closing = False
        self.buffer = bytearray()
        self.writable: asyncio.Future[None] | None = None
        self.closed: asyncio.Future[None] | None = None

    @property
    def gone(self) -> bool:
        """The worker ended while the crawl still needed it."""
        return self.lost is not None and not self.closing

    def describe_end(self) -> str:
        """'newsarchive-writer (pid 123) ended unexpectedly (killed by SIGKILL)'."""
        if self.process.exitcode is None:
            # Its socket closes as it ends, a moment before it can be reaped: else "still running".
            self.process.join(timeout=1.0)
        return (
            f"{self.name} (pid {self.process.pid}) ended unexpectedly "
            f"({exit_description(self.process.exitcode)})"
        )

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        self.closed = loop.create_future()
        await loop.connect_accepted_socket(lambda: _WorkerProtocol(self), sock=self.sock)

    async def call(self, function: Any, *args: Any) -> Any:
        """function(*args) in the worker process; raises what it raises, or WorkerGone."""
        if self.writable is not None:
            # The socket buffer is full: wait until the worker has read some of it.
            await asyncio.shield(self.writable)
        if self.transport is None or self.lost is not None:
            raise WorkerGone(f"{self.name}: the worker process is gone")
        # The frame is pickled behind room for its header, so it goes out in one write (one
        # send, one wake-up of the worker) without copying a page-sized payload to prepend the
        # header: two writes cost two syscalls per call, the crawl process's largest IPC cost.
        frame = io.BytesIO()
        frame.write(bytes(_HEADER_ROOM))
        pickle.Pickler(frame, pickle.HIGHEST_PROTOCOL).dump((function, args))
        size = frame.tell() - _HEADER_ROOM
        if size < 0x7FFFFFFF:
            header = _FRAME_HEADER.pack(size)
        else:
            header = _FRAME_HEADER.pack(-1) + _LONG_FRAME_HEADER.pack(size)
        start = _HEADER_ROOM - len(header)
        future = asyncio.get_running_loop().create_future()
        self.pending.append(future)
        with frame.getbuffer() as view:
            view[start:_HEADER_ROOM] = header
            self.transport.write(view[start:])  # copied only if the socket cannot take it all
        del frame
        return await future

    def received(self, data: bytes) -> None:
        """Replies (maybe a part of one) from the worker: each complete one settles its call."""
        buffer = self.buffer
        buffer += data
        offset = 0
        while True:
            start = offset + 4
            if len(buffer) < start:
                break
            (size,) = _FRAME_HEADER.unpack_from(buffer, offset)
            if size == -1:
                start += 8
                if len(buffer) < start:
                    break
                (size,) = _LONG_FRAME_HEADER.unpack_from(buffer, offset + 4)
            end = start + size
            if len(buffer) < end:
                break
            ok, value = pickle.loads(buffer[start:end])
            offset = end
            future = self.pending.popleft()
            if not future.cancelled():
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
        if offset:
            del buffer[:offset]

    def lost_connection(self, exc: BaseException | None) -> None:
        """The socket closed (we closed it, or the worker ended): calls still waiting fail."""
        self.lost = exc or EOFError("connection closed")
        while self.pending:
            future = self.pending.popleft()
            if not future.done():
                future.set_exception(WorkerGone(f"{self.name}: the worker process ended"))
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)
        if self.closed is not None and not self.closed.done():
            self.closed.set_result(None)
        if not self.closing and self.on_lost is not None:
            self.on_lost(self)

    async def close(self) -> None:
        """Close the socket (the worker ends when it reads its end) and wait for the worker."""
        self.closing = True
        if self.transport is not None:
            self.transport.close()  # sends what is still buffered first
            if self.lost is None and self.closed is not None:
                await self.closed
        else:
            self.sock.close()
        deadline = time.monotonic() + WORKER_EXIT_TIMEOUT
        while self.process.is_alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        if self.process.is_alive():
            logger.warning("%s did not exit; terminating it", self.name)
            self.process.kill()  # it ignores SIGTERM
        self.process.join()
        _OPEN_WORKERS.discard(self)


class _WorkerProtocol(asyncio.Protocol):
    def __init__(self, worker: WorkerProcess) -> None:
        self.worker = worker

    def connection_made(self, transport: Any) -> None:
        self.worker.transport = transport

    def data_received(self, data: bytes) -> None:
        self.worker.received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.worker.lost_connection(exc)

    def pause_writing(self) -> None:
        self.worker.writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        writable, self.worker.writable = self.worker.writable, None
        if writable is not None and not writable.done():
            writable.set_result(None)
