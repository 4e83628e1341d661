"""`rustok serve` supervises the embedded PostgreSQL it manages: after a crash it starts it again.

Rules (docs/deploy.md, "Supervision of the embedded server"):
- Only the embedded server, never one named by DATABASE_URL: `rustok serve` makes a supervisor only when it
  manages the server (cli.py).
- Only an operator's stop is respected. `rustok db stop` (embedded.Cluster.stop) leaves a mark in the data
  directory before it shuts the server down: left stopped, logged once; supervision resumes when someone starts
  it again (a start removes the mark). Anything else that ends the postmaster is restarted: a crash (it
  vanished and left its `postmaster.pid` behind: SIGKILL, the OOM killer) and a shutdown without the mark
  (`pg_ctl stop` in any mode, SIGTERM, SIGINT or SIGQUIT to the postmaster), each logged as what it was.
- Once a restart is under way it goes on until a postmaster runs (started here or by anyone), with a delay
  that doubles from `Backoff.first` to `Backoff.ceiling` and then stays there: a data directory that cannot
  start is tried again every `ceiling` seconds, each failure logged with PostgreSQL's reason, because the cause
  (a full disk, a wrong permission) is usually fixed from outside while serve waits. The delay goes back to
  nothing once the server has stayed up for `Backoff.stable_after` seconds, so a crash loop slows down.
- Processes of the dead server still attached to its shared memory are waited for, never killed.
- One supervisor per data directory: the thread in the `rustok serve` process itself (with `--workers N`,
  the parent, which started the server; the workers never start it). Several `rustok serve` on one
  RUSTOK_HOME take an exclusive lock on `run/supervisor.lock`: one supervises, the others stand by and take
  over when it exits.
- Serve's shutdown ends supervision at once: a pending restart is dropped (the next `rustok serve` or
  `rustok db start` starts the server), one already inside `pg_ctl start` finishes on its own.

The supervisor writes what it knows to `run/supervisor.json` (atomically, on every change), which every
worker's /metrics reads: `rustok_embedded_up`, `rustok_embedded_restarts_total`."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from rustok.embedded import Cluster, EmbeddedError, ServerState

log = logging.getLogger("rustok.supervisor")

_REPEAT_WAIT_LOG = 30.0  # seconds between log lines while a restart waits for the dead server's processes


@dataclass(frozen=True)
class Backoff:
    first: float = 1.0  # the delay before the second try; the first try after a crash is at once
    ceiling: float = 30.0
    stable_after: float = 60.0  # up this long: the next crash is restarted at once again

    def delay(self, attempt: int) -> float:
        """Seconds to wait before restart attempt `attempt` (0, 1, 2, … since the server was last stable)."""
        return 0.0 if attempt == 0 else min(self.first * 2 ** (attempt - 1), self.ceiling)


@dataclass(frozen=True)
class SupervisorState:
    """What the supervisor publishes for the API processes' /metrics."""

    pid: int  # the supervising process
    data_dir: str
    state: str  # running, stopped, crashed, restarting
    up: bool  # a postmaster runs and accepts connections
    restarts: int  # successful restarts after a crash, since this supervisor started
    failed_attempts: int
    next_attempt_at: float | None  # epoch seconds, while a restart waits for its delay


def run_dir(home: Path) -> Path:
    return home / "run"


def read_state(home: Path) -> SupervisorState | None:
    """The live supervisor's state for the server under `home`, or None (no supervisor, or it died)."""
    try:
        state = SupervisorState(**json.loads((run_dir(home) / "supervisor.json").read_text()))
        os.kill(state.pid, 0)
    except (OSError, ValueError, TypeError):
        return None
    return state


class EmbeddedSupervisor:
    """A daemon thread watching one embedded cluster every `interval` seconds; `start()`, then `stop()`."""

    def __init__(self, cluster: Cluster, home: Path, interval: float = 1.0, backoff: Backoff | None = None) -> None:
        self.cluster = cluster
        self.interval = interval
        self.backoff = backoff or Backoff()
        self.restarts = 0
        self.failed_attempts = 0
        self._dir = run_dir(home)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rustok-supervisor", daemon=True)
        self._lock: IO[str] | None = None
        self._stood_by = False
        self._attempt = 0  # restart attempts since the server was last stable
        self._up_since: float | None = None
        self._seen: ServerState | None = None
        self._published: SupervisorState | None = None

    def start(self) -> EmbeddedSupervisor:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ends supervision; a restart waiting for its delay is dropped."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("embedded PostgreSQL: a restart is in progress; it finishes on its own")

    @property
    def supervising(self) -> bool:
        return self._lock is not None

    # -- the loop ---------------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    if self._lock is not None or self._take_lock():
                        self._watch()
                except Exception:  # a bug must not end supervision for good
                    log.exception("embedded PostgreSQL supervisor failed; going on")
                self._stop.wait(self.interval)
        finally:
            self._release_lock()

    def _watch(self) -> None:
        state = self.cluster.state()
        if state is ServerState.CRASHED or (state is ServerState.STOPPED and not self.cluster.stopped_by_rustok()):
            self._recover(state)
            if self._stop.is_set():
                return
            state = self.cluster.state()
        if state is not self._seen:
            self._log_change(state)
            self._seen = state
        now = time.monotonic()
        if state is ServerState.RUNNING:
            self._up_since = self._up_since or now
            if now - self._up_since >= self.backoff.stable_after:
                self._attempt = 0
        else:
            self._up_since = None
        self._publish(state.value, None)

    def _log_change(self, state: ServerState) -> None:
        where = self.cluster.data_dir
        if state is ServerState.STOPPED:
            log.warning(
                "embedded PostgreSQL in %s was stopped by `rustok db stop`: an operator's stop is respected, so it "
                "is not restarted; the API answers UNAVAILABLE until `rustok db start`",
                where,
                extra={"data_dir": str(where)},
            )
        elif state is ServerState.RUNNING and self._seen is ServerState.STOPPED:
            log.info(
                "embedded PostgreSQL in %s was started again; supervising it", where, extra={"data_dir": str(where)}
            )

    def _recover(self, state: ServerState) -> None:
        """Restarts the server after a crash, or after a shutdown that was not `rustok db stop`: waits for its
        delay and for the dead server's processes, starts it, and tries again after a failure, until a
        postmaster runs or supervision stops."""
        down_at = time.monotonic()
        self._seen = ServerState.CRASHED  # down and being restarted, whatever ended it
        self._up_since = None
        delay = self.backoff.delay(self._attempt)
        what = self._what_ended_it(state)
        cause = "after a crash" if state is ServerState.CRASHED else "after a shutdown that was not `rustok db stop`"
        log.error(
            "embedded PostgreSQL in %s %s; restarting it: %d restart(s) so far, next try in %.0f s",
            self.cluster.data_dir,
            what,
            self.restarts,
            delay,
            extra={"data_dir": str(self.cluster.data_dir), "restarts": self.restarts, "next_try_seconds": delay},
        )
        while not self._stop.is_set():
            delay = self.backoff.delay(self._attempt)
            self._publish("restarting", time.time() + delay if delay else None)
            if self._stop.wait(delay) or not self._wait_until_startable():
                return
            if self.cluster.state() is ServerState.RUNNING:
                log.info("embedded PostgreSQL in %s was started meanwhile", self.cluster.data_dir)
                return
            self._attempt += 1
            try:
                self.cluster.start()
            except EmbeddedError as exc:
                if self.cluster.state() is ServerState.RUNNING:
                    return  # someone else's start won the race: it runs
                self.failed_attempts += 1
                delay = self.backoff.delay(self._attempt)
                capped = " (the ceiling: it keeps trying at this pace)" if delay >= self.backoff.ceiling else ""
                log.error(
                    "embedded PostgreSQL: restart attempt %d failed: %s; next try in %.0f s%s",
                    self._attempt,
                    exc,
                    delay,
                    capped,
                    extra={
                        "restarts": self.restarts,
                        "failed_attempts": self.failed_attempts,
                        "next_try_seconds": delay,
                    },
                )
                continue
            self.restarts += 1
            log.warning(
                "embedded PostgreSQL in %s restarted %s (restart %d, down %.1f s)",
                self.cluster.data_dir,
                cause,
                self.restarts,
                time.monotonic() - down_at,
                extra={"data_dir": str(self.cluster.data_dir), "restarts": self.restarts},
            )
            return

    def _what_ended_it(self, state: ServerState) -> str:
        """What the supervisor saw, in words: a lock file left by a dead postmaster, or none and no mark of
        `rustok db stop` (then pg_control says whether the shutdown wrote its checkpoint)."""
        if state is ServerState.CRASHED:
            lock = self.cluster.lock_file()
            return (
                f"died without shutting down (postmaster {lock.pid if lock else '?'} gone, postmaster.pid left "
                "behind: SIGKILL, the OOM killer, a crash)"
            )
        checkpointed = self.cluster.shutdown_checkpointed()
        how = {
            True: "cleanly (smart or fast: pg_ctl stop, SIGTERM or SIGINT to the postmaster)",
            False: "without its shutdown checkpoint (immediate: pg_ctl stop -m immediate or SIGQUIT; it recovers "
            "at the next start)",
            None: "(postmaster.pid removed)",
        }[checkpointed]
        return f"was shut down {how}, not by `rustok db stop`, the only stop serve respects"

    def _wait_until_startable(self) -> bool:
        """Waits (never kills) until nothing of the dead server is in the way; False when stopped meanwhile."""
        said, said_at = None, 0.0
        while (blocker := self.cluster.restart_blocker()) is not None:
            if blocker != said or time.monotonic() - said_at >= _REPEAT_WAIT_LOG:
                log.warning("embedded PostgreSQL: the restart waits: %s (they exit by themselves; not killed)", blocker)
                said, said_at = blocker, time.monotonic()
            if self._stop.wait(0.2):
                return False
        return True

    # -- one supervisor per data directory --------------------------------------------------------------

    def _take_lock(self) -> bool:
        self._dir.mkdir(parents=True, exist_ok=True)
        handle = open(self._dir / "supervisor.lock", "a+")  # noqa: SIM115 (held open for as long as we supervise)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            if not self._stood_by:
                other = read_state(self._dir.parent)
                log.info(
                    "embedded PostgreSQL in %s is supervised by another rustok serve (pid %s); standing by",
                    self.cluster.data_dir,
                    other.pid if other else "?",
                )
                self._stood_by = True
            return False
        self._lock = handle
        log.info("supervising the embedded PostgreSQL in %s", self.cluster.data_dir)
        return True

    def _release_lock(self) -> None:
        if self._lock is None:
            return
        (self._dir / "supervisor.json").unlink(missing_ok=True)
        self._lock.close()  # releases the flock
        self._lock = None

    def _publish(self, state: str, next_attempt_at: float | None) -> None:
        current = SupervisorState(
            pid=os.getpid(),
            data_dir=str(self.cluster.data_dir),
            state=state,
            up=self.cluster.is_ready(),
            restarts=self.restarts,
            failed_attempts=self.failed_attempts,
            next_attempt_at=next_attempt_at,
        )
        if current == self._published:
            return
        _write_atomically(self._dir / "supervisor.json", json.dumps(asdict(current)))
        self._published = current


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(text)
    os.replace(temporary, path)


def supervise(cluster: Cluster | None, home: Path) -> EmbeddedSupervisor | None:
    """A started supervisor for the embedded `cluster`; None for a server rustok does not manage."""
    return EmbeddedSupervisor(cluster, home).start() if cluster is not None else None
