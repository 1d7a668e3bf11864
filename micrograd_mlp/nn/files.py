"""Writing files so that a crash mid-write never leaves a torn file behind.

:func:`atomic_write_bytes` is the one way the library writes a file (``save``, ``render_graph``,
the CLI's pictures). It keeps what the user had:

* **atomic** - the bytes go to a temporary file in the target's folder, are flushed to disk
  (``fsync``), then renamed over the target (``os.replace``): a reader sees the old file or the
  new one, never a torn one;
* **permissions** - a new file gets the mode ``open()`` would give it (``0o666`` less the umask);
  an existing file keeps its mode;
* **symlinks** - a path that is a symbolic link is written *through*: its target gets the new
  bytes and the link stays a link (as ``open(path, "w")`` does);
* **temporary files** - on an exception nothing is left behind, and an ``OSError`` names the
  target (``[Errno 28] No space left on device: 'model.json'``), not the temporary file. A
  process killed mid-write (SIGKILL, power loss) cannot clean up: it may leave
  ``.<name>.<pid>.tmp-<random>`` beside the target (the target itself is intact). The next write
  to the same target removes such leftovers whose process is gone.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat


def temp_prefix(target: str) -> str:
    """The start of the temporary names used while writing ``target``: ``.<name>.``."""
    return f".{os.path.basename(target)}."


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, keeping its mode and writing through a symlink.

    A crash or an exception at any point leaves either the previous file or the new one, never a
    partial one; an exception leaves no temporary file behind (see the module docstring for a
    killed process).
    """
    target = os.path.realpath(os.fspath(path))  # through symlinks: replace the real file
    directory = os.path.dirname(target)
    try:
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None  # a new file: 0o666 less the umask, applied by os.open below
    _remove_leftovers(directory, target)
    tmp = os.path.join(directory, f"{temp_prefix(target)}{os.getpid()}.tmp-{secrets.token_hex(4)}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:
        raise _naming(exc, path) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            if mode is not None:
                os.chmod(fh.fileno() if os.chmod in os.supports_fd else tmp, mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _naming(exc, path) from None
        raise
    try:  # make the rename itself durable where the platform allows it
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def _naming(exc: OSError, path: str | os.PathLike[str]) -> OSError:
    """``exc`` naming the file asked for, once: not the temporary file (a name the caller never
    gave, which ``os.replace`` would add to the target's as ``'tmp' -> 'target'``)."""
    if exc.errno is None:
        return exc
    named = OSError(exc.errno, exc.strerror, os.fspath(path))  # (the errno's subclass, PEP 3151)
    return named if isinstance(named, type(exc)) else exc


def _remove_leftovers(directory: str, target: str) -> None:
    """Delete temporary files of earlier writes to ``target`` whose process no longer runs."""
    prefix = temp_prefix(target)
    try:
        names = [n for n in os.listdir(directory) if n.startswith(prefix) and ".tmp-" in n]
    except OSError:
        return
    for name in names:
        pid_text = name[len(prefix):].split(".tmp-", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid() or _alive(int(pid_text)):
            continue  # another write may be in progress: leave it
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(directory, name))


def _alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (conservatively ``True`` when that cannot be told)."""
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True
