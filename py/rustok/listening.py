"""Whether `rustok serve` can listen where it is asked to: tried before anything else starts (the embedded
server, migrations), so a busy port is one line saying so instead of a server that announces itself and dies.

The trial binds the sockets uvicorn will bind, the way it binds them (SO_REUSEADDR; with one worker every
address the host resolves to, IPv6 ones V6-only, as asyncio does; with several, one socket of the family the
host is spelled in, bound in the parent), and closes them again. A port taken in the moment between the trial
and uvicorn's own bind still fails in uvicorn."""

from __future__ import annotations

import errno
import socket


def listen_problem(host: str, port: int, workers: int) -> str | None:
    """What stands in the way of serving on `host`:`port`, as one sentence that says what to do; None: free."""
    if not 0 <= port <= 65535:
        return f"port {port} does not exist: choose one from 1 to 65535 with --port"
    try:
        found = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot listen on {host!r}: the name does not resolve ({exc.strerror}); give --host an address"
    addresses = list(dict.fromkeys((family, str(address[0])) for family, _, _, _, address in found))
    if workers > 1:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        addresses = [a for a in addresses if a[0] == family][:1]
        if not addresses:
            return f"cannot listen on {host!r}: it has no {'IPv6' if ':' in host else 'IPv4'} address"
    for family, address in addresses:
        where = host if host == address else f"{host or 'every address'} ({address})"
        problem = _try_bind(family, address, port, workers == 1, where)
        if problem:
            return problem
    return None


def _try_bind(family: int, address: str, port: int, v6only: bool, where: str) -> str | None:
    with socket.socket(family, socket.SOCK_STREAM) as trial:
        trial.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and v6only:
            trial.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            trial.bind((address, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} is in use on {where}: stop the server listening there, or choose another --port"
            if exc.errno == errno.EADDRNOTAVAIL:
                return f"cannot listen on {where}: not an address of this machine; give --host one of its own"
            if exc.errno == errno.EACCES:
                return (
                    f"cannot listen on port {port} of {where}: it needs privileges (below 1024); choose another --port"
                )
            return f"cannot listen on port {port} of {where}: {exc.strerror or exc}"
    return None
