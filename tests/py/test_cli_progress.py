"""Progress of long commands: plain lines in a pipe or a log (start, every 10 % or 5 s, the end with the rate;
never a carriage return), a bar redrawn in place on a terminal. The real commands — demo, reindex, tenant
export and import — piped and on a pseudo-terminal, and the helper itself with a clock of its own."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from rustok.db import Database
from rustok.progress import Progress
from tests.conftest import clone_database, drop_database
from tests.py.cli_support import Terminal, environment, piped

PLAIN_LINE = re.compile(r"^(?P<label>[\w .-]+): (started, [\d,]+ \w+|\d+% \([\d,]+/[\d,]+ \w+\).*|done, .+ \(.+/s\))$")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def plain(stream: io.StringIO) -> list[str]:
    text = stream.getvalue()
    assert "\r" not in text
    return text.splitlines()


# -- the helper ----------------------------------------------------------------------------------------


def test_plain_lines_every_ten_percent_then_the_rate() -> None:
    out, clock = io.StringIO(), Clock()
    with Progress("load", "rows", out, redraw=False, clock=clock) as bar:
        for done in range(0, 1001):
            clock.now = done / 1000  # 1 s in all: the 5 s rule never fires
            bar(done, 1000, f"row {done}")
    lines = plain(out)
    assert lines[0] == "load: started, 1,000 rows"
    assert lines[1:-1] == [f"load: {p}% ({p * 10:,}/1,000 rows) row {p * 10}" for p in range(10, 100, 10)]
    assert lines[-1] == "load: done, 1,000 rows in 1.0 s (1,000 rows/s)"


def test_plain_lines_every_five_seconds_when_it_is_slow() -> None:
    out, clock = io.StringIO(), Clock()
    with Progress("slow", "rows", out, redraw=False, clock=clock) as bar:
        for done in range(0, 5):
            clock.now = done * 6.0
            bar(done, 100)
    lines = plain(out)
    assert lines[0] == "slow: started, 100 rows"
    assert lines[1:] == [f"slow: {n}% ({n}/100 rows)" for n in (1, 2, 3, 4)] + [
        "slow: done, 4 rows in 24.0 s (0 rows/s)"
    ]


def test_on_a_terminal_one_line_redrawn_at_most_ten_times_a_second() -> None:
    out, clock = io.StringIO(), Clock()
    with Progress("bar", "steps", out, redraw=True, clock=clock) as bar:
        for done in range(0, 101):
            clock.now = done * 0.01  # 1 s: about ten redraws, plus the last state
            bar(done, 100)
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\x1b[K\n")
    assert 10 <= text.count("\r") <= 13
    assert "\rbar [########################] 100% 100/100 steps" in text
    assert "\rbar [########################] 100 steps in 1.0 s (100 steps/s)" in text


def test_an_error_ends_the_bar_line_and_writes_no_end_line() -> None:
    out = io.StringIO()
    with pytest.raises(RuntimeError), Progress("bar", "steps", out, redraw=True) as bar:
        bar(1, 10)
        raise RuntimeError("boom")
    assert out.getvalue().endswith("\n") and "steps/s" not in out.getvalue()
    out = io.StringIO()
    with pytest.raises(RuntimeError), Progress("plain", "steps", out, redraw=False) as bar:
        bar(1, 10)
        raise RuntimeError("boom")
    assert plain(out) == ["plain: started, 10 steps", "plain: 10% (1/10 steps)"]


# -- the real commands ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spare(template_db: Database) -> Iterator[Database]:
    """An empty database to import into."""
    clone = clone_database(template_db, "cli_progress_spare")
    yield clone
    drop_database(template_db, clone.dbname)


def progress_lines(stderr: str, label: str) -> list[str]:
    """The plain progress lines of `label`, each checked against the one line format."""
    assert "\r" not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith(f"{label}: ")]
    assert all(PLAIN_LINE.match(line) for line in lines), lines
    assert lines[0].startswith(f"{label}: started, ") and lines[-1].startswith(f"{label}: done, "), lines
    return lines


def test_long_commands_print_plain_lines_into_a_pipe(db: Database, spare: Database, tmp_path: Path) -> None:
    env = environment(db, tmp_path)
    demo = piped(env, "demo", "--no-migrate", "--products", "20", "--posts", "6")
    assert demo.returncode == 0, demo.stderr
    assert "\r" not in demo.stdout
    lines = progress_lines(demo.stderr, "demo")
    assert len(lines) >= 6 and re.search(r"demo: done, [\d,]+ steps in [\d.]+ s \([\d,]+ steps/s\)", lines[-1])
    assert any(" catalogue" in line for line in lines)

    reindex = piped(env, "reindex", "--batch-size", "5")
    assert reindex.returncode == 0, reindex.stderr
    progress_lines(reindex.stderr, "reindex")
    assert "demo: products: 20 recomputed, 0 pruned\ndemo: content: 8 recomputed" in reindex.stdout

    exported = tmp_path / "demo.rustok.tar.gz"
    export = piped(env, "tenant", "export", "demo", str(exported))
    assert export.returncode == 0, export.stderr
    assert len(progress_lines(export.stderr, "export demo")) >= 3
    assert export.stdout.startswith("exported tenant demo (") and "\r" not in export.stdout

    load = piped(environment(spare, tmp_path), "tenant", "import", str(exported))
    assert load.returncode == 0, load.stderr
    lines = progress_lines(load.stderr, "import demo.rustok.tar.gz")
    assert any("foreign keys of" in line for line in lines), lines
    assert load.stdout.startswith("imported tenant demo (")


def test_on_a_terminal_the_demo_draws_a_bar(db: Database, tmp_path: Path) -> None:
    terminal = Terminal(environment(db, tmp_path), "demo", "--no-migrate", "--tenant", "tty", "--products", "10")
    code, shown = terminal.finish()
    assert code == 0, shown
    assert re.search(r"\rdemo \[[#.]{24}\] +\d+% \d+/\d+ steps  \w+\x1b\[K", shown), shown
    assert re.search(r"\rdemo \[#{24}\] [\d,]+ steps in [\d.]+ s \([\d,]+ steps/s\)\x1b\[K\r\n", shown), shown
    assert "demo: started" not in shown and "storefront: " in shown
