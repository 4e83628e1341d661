"""RUSTOK_HOME and what rustok keeps in it (pgdata, secrets) belong to the user running rustok, and nothing there
is followed through a symlink: a home another user created first (e.g. under /tmp) could otherwise point pgdata
at a folder of root's, which root's `rustok db start` would then chmod and chown, or plant a secret that root's
rustok would sign tokens with (docs/security.md, "Running as another user's home").

- `private_dir` creates a folder (mode 0700) or accepts an existing one only when it is a real folder (lstat, not
  a symlink) owned by one of the allowed users; its mode is set through a descriptor opened with O_NOFOLLOW.
- `read_secret` opens with O_NOFOLLOW and refuses a file not owned by the running user or open to others.
- `create_secret` creates with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600: never through a planted link or file.

Refusals raise UnsafePath naming the path and what to do."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path


class UnsafePath(RuntimeError):
    """A path under RUSTOK_HOME that rustok will not use; the message names it and what to do."""


def _refuse(path: Path, why: str) -> UnsafePath:
    return UnsafePath(
        f"refusing {path}: {why}; another user may have prepared it to take over what rustok writes there."
        " Remove it (or choose a RUSTOK_HOME of your own, e.g. under your home or /var/lib/rustok) and run again"
        ' (docs/deploy.md, "Running as root")'
    )


def _not_mine(path: Path, uid: int) -> UnsafePath:
    return _refuse(path, f"it is owned by uid {uid}, not by the user running rustok (uid {os.geteuid()})")


def private_dir(path: Path, owners: tuple[int, ...] = (), mode: int | None = 0o700) -> None:
    """Makes sure `path` is a folder (not a symlink) owned by the running user or one of `owners`, with `mode`
    (None: its mode is left alone), creating it (mode 0700, and missing parents) when absent. Raises UnsafePath
    otherwise."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # made meanwhile: checked below like any existing one
            os.mkdir(path, 0o700)
        info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise _refuse(path, "it is a symlink")
    if not stat.S_ISDIR(info.st_mode):
        raise _refuse(path, "it is not a folder")
    if info.st_uid not in (os.geteuid(), *owners):
        raise _not_mine(path, info.st_uid)
    if mode is None:
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) != mode:
            os.fchmod(fd, mode)
    finally:
        os.close(fd)


def read_secret(path: Path) -> str | None:
    """The secret stored at `path`, None when there is none. Raises UnsafePath for a symlink, a file not owned by
    the running user, or one that others (group or world) may read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:  # ELOOP: a symlink
        raise _refuse(path, f"it cannot be opened without following a link ({exc.strerror})") from exc
    with os.fdopen(fd) as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(path, "it is not a regular file")
        if info.st_uid != os.geteuid():
            raise _not_mine(path, info.st_uid)
        if info.st_mode & 0o077:
            raise _refuse(path, f"others may read it (mode {stat.S_IMODE(info.st_mode):o})")
        return file.read().strip()


def create_secret(path: Path, value: str) -> None:
    """Writes a new secret file, mode 0600; never through an existing file or link (O_EXCL|O_NOFOLLOW)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(value + "\n")
