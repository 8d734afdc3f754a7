"""File-system primitives for writers: an exclusive lock on an output, an atomic swap of two
paths, and durable writes. Nothing here knows about samples."""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime
import errno
import json
import os
import socket
import sys
import threading
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: an O_EXCL lock file instead
    fcntl = None  # type: ignore[assignment]


class OutputInUseError(OSError):
    """Another run (a process, or a thread of this one) is writing the same output."""


_held: set[str] = set()  # outputs locked by this process: flock does not exclude two threads'
_held_guard = threading.Lock()  # opens on every file system, so threads are checked here


class OutputLock:
    """An exclusive lock on ``path`` (a lock file) for one run, held until ``release``.

    On POSIX it is an ``flock`` on the file, which the kernel drops when the holder dies, so
    a killed run leaves no stale lock. Without ``fcntl`` the file is created with
    ``O_EXCL``; a lock file left by a dead process of this host is taken over. The file
    records the holder (host, pid, start time) for the message a second writer gets.
    """

    def __init__(self, path: Path, what: str):
        self.path, self.what = Path(path), what
        self._key = os.path.realpath(self.path)
        self._fd: int | None = None
        with _held_guard:
            if self._key in _held:
                raise OutputInUseError(errno.EBUSY, self._message(self._holder()))
            _held.add(self._key)
        try:
            self._fd = self._acquire_flock() if fcntl is not None else self._acquire_exclusive()
            info = {
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "started": datetime.datetime.now().isoformat(timespec="seconds"),
            }
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, json.dumps(info).encode(), 0)
        except BaseException:
            self._forget()
            raise

    def _acquire_flock(self) -> int:
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = self._holder()
                os.close(fd)
                if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise OutputInUseError(errno.EBUSY, self._message(holder)) from None
                raise
            # A holder that finished unlinks the file before it unlocks: then this lock is on
            # a file no one else will open, and the path must be opened again.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                return fd
            os.close(fd)

    def _acquire_exclusive(self) -> int:
        for _ in range(2):
            try:
                return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = self._holder()
                if holder.get("host") == socket.gethostname() and not _alive(holder.get("pid")):
                    os.unlink(self.path)  # stale: its process is gone
                    continue
                raise OutputInUseError(errno.EBUSY, self._message(holder)) from None
        raise OutputInUseError(errno.EBUSY, self._message(self._holder()))

    def _holder(self) -> dict:
        try:
            return json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return {}

    def _message(self, holder: dict) -> str:
        who = (
            f"process {holder['pid']} on {holder.get('host', '?')}, started {holder.get('started', '?')}"
            if holder.get("pid")
            else "another run"
        )
        return (
            f"{self.what} is being written by {who} (lock file {self.path}); two runs writing one output would "
            "mix their chunks: wait for it to finish, stop it, or write elsewhere"
        )

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.unlink(self.path)  # before unlocking: a waiter that opened it retries (see above)
        except FileNotFoundError:
            pass
        os.close(self._fd)
        self._fd = None
        self._forget()

    def _forget(self) -> None:
        with _held_guard:
            _held.discard(self._key)

    def __enter__(self) -> OutputLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return True  # unknown: never break someone else's lock
    if os.name == "nt":
        return True  # os.kill would terminate it; the user removes a stale file by hand
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _renameat2():
    """libc's renameat2 (Linux, glibc 2.28+), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


def exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step (renameat2 RENAME_EXCHANGE), so a reader of either
    sees the old or the new one, never neither. False where the system or file system cannot."""
    fn = _renameat2()
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def write_atomic(path: Path, data: bytes) -> None:
    """``data`` at ``path`` whole or not at all, and on the disk when this returns."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def fsync(path: Path) -> None:
    """Flush a file (or every file of a folder, and the folder) to the disk."""
    if path.is_dir():
        for root, _, files in os.walk(path):
            for name in files:
                fsync(Path(root) / name)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
