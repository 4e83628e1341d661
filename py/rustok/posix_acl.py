"""Traverse permission for one user on one directory through a POSIX access ACL (Linux), read and written as
the ``system.posix_acl_access`` extended attribute, so no ``setfacl`` program is needed.

`grant_traverse` adds or widens that user's own entry to include x (search) and nothing else: the owner, the
owning group and everyone else keep exactly what they had. The ACL's mask gains x, since it caps every named
entry (``ls -l`` then shows the mask as the group bits, e.g. ``drwx--x---+``; the group's own entry is
unchanged). `can_traverse` answers with the kernel's access check order: owner, named user, groups, others.
"""

from __future__ import annotations

import errno
import os
import pwd
import stat
import struct
from dataclasses import dataclass, replace
from pathlib import Path

_XATTR = "system.posix_acl_access"
_VERSION = 2
_HEADER = struct.Struct("<I")
_ENTRY = struct.Struct("<HHI")  # tag, permission bits, uid or gid
USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
_NO_ID = 0xFFFFFFFF
X = 0o1


class AclUnsupported(OSError):
    """This system or file system keeps no POSIX ACLs."""


@dataclass(frozen=True, order=True)
class Entry:
    tag: int
    qualifier: int  # the uid (USER) or gid (GROUP); _NO_ID for the others
    perm: int


def read_acl(path: Path) -> list[Entry]:
    """The access ACL of `path`; a path without one (or on a file system without ACLs) has the three entries
    its mode bits stand for."""
    try:
        raw = os.getxattr(path, _XATTR) if hasattr(os, "getxattr") else b""
    except OSError as exc:
        if exc.errno not in (errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        raw = b""
    if not raw:
        mode = path.stat().st_mode
        return [Entry(USER_OBJ, _NO_ID, mode >> 6 & 7), Entry(GROUP_OBJ, _NO_ID, mode >> 3 & 7),
                Entry(OTHER, _NO_ID, mode & 7)]  # fmt: skip
    (version,) = _HEADER.unpack_from(raw)
    if version != _VERSION:
        raise AclUnsupported(errno.ENOTSUP, f"POSIX ACL version {version} is not understood", str(path))
    entries = []
    for offset in range(_HEADER.size, len(raw), _ENTRY.size):
        tag, perm, qualifier = _ENTRY.unpack_from(raw, offset)
        entries.append(Entry(tag, qualifier, perm))
    return entries


def can_traverse(path: Path, user: pwd.struct_passwd) -> bool:
    """`user` may search (enter) the directory `path`, as the kernel decides it."""
    if user.pw_uid == 0:
        return True
    info = path.stat()
    entries = read_acl(path)
    if info.st_uid == user.pw_uid:
        return bool(info.st_mode & stat.S_IXUSR)
    mask = next((e.perm for e in entries if e.tag == MASK), 0o7)
    named = [e for e in entries if e.tag == USER and e.qualifier == user.pw_uid]
    if named:
        return bool(named[0].perm & mask & X)
    groups = set(os.getgrouplist(user.pw_name, user.pw_gid))
    owning_group = info.st_gid in groups
    matching = [
        e for e in entries if (e.tag == GROUP_OBJ and owning_group) or (e.tag == GROUP and e.qualifier in groups)
    ]
    if matching:
        return any(e.perm & mask & X for e in matching)
    return any(e.tag == OTHER and e.perm & X for e in entries)


def grant_traverse(path: Path, uid: int) -> None:
    """Adds x for the user `uid` to the access ACL of `path` (and x to its mask); nobody else gains anything."""
    entries = read_acl(path)
    own = next((e for e in entries if e.tag == USER and e.qualifier == uid), None)
    kept = [e for e in entries if e is not own and e.tag != MASK]
    kept.append(replace(own, perm=own.perm | X) if own else Entry(USER, uid, X))
    old_mask = next((e.perm for e in entries if e.tag == MASK), None)
    group_obj = next(e.perm for e in entries if e.tag == GROUP_OBJ)
    kept.append(Entry(MASK, _NO_ID, (group_obj if old_mask is None else old_mask) | X))
    raw = _HEADER.pack(_VERSION) + b"".join(_ENTRY.pack(e.tag, e.perm, e.qualifier) for e in sorted(kept))
    if not hasattr(os, "setxattr"):
        raise AclUnsupported(errno.ENOTSUP, "this system keeps no POSIX ACLs", str(path))
    try:
        os.setxattr(path, _XATTR, raw)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            raise AclUnsupported(exc.errno, "the file system keeps no POSIX ACLs", str(path)) from exc
        raise
