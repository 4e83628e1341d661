"""`rustok --help` and every command's help: each option says what it does and each command shows examples
that parse. The parser tree is walked, so a new flag or command without help fails here."""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
from collections.abc import Iterator

import pytest

from rustok import cli
from rustok.observability import logging as rustok_logging
from tests.py.cli_support import command

Parser = argparse.ArgumentParser


def commands(parser: Parser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Parser]]:
    """(`rustok db url`, its parser) for the top level and every command and action below it."""
    yield " ".join(("rustok", *path)), parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))


PARSER = cli._parser()
EVERY = list(commands(PARSER))


def test_the_walk_sees_every_command() -> None:
    names = {name for name, _ in EVERY}
    assert {"rustok", "rustok serve", "rustok db url", "rustok tenant create", "rustok module enable"} <= names
    assert len(names) >= 22


@pytest.mark.parametrize(("name", "parser"), EVERY, ids=[name for name, _ in EVERY])
def test_every_option_and_command_has_a_help_text(name: str, parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                assert (choice.help or "").strip(), f"{name} {choice.dest}: no summary"
        else:
            assert (action.help or "").strip(), f"{name} {'/'.join(action.option_strings) or action.dest}: no help"


def examples(epilog: str) -> list[str]:
    """The `rustok …` invocations in an epilog, cut where the shell takes over (`)`, `|`, `>`, `#`)."""
    found = []
    for line in epilog.splitlines():
        start = re.search(r"(?:^|(?<=[\s(]))rustok ", line)
        if start is None:
            continue
        invocation = line[start.start() :]
        for end in (" 2>", ">", "|", ")", "#"):
            invocation = invocation.split(end)[0]
        found.append(invocation.strip())
    return found


@pytest.mark.parametrize(("name", "parser"), EVERY, ids=[name for name, _ in EVERY])
def test_every_command_shows_examples_that_parse(name: str, parser: argparse.ArgumentParser) -> None:
    epilog = parser.epilog or ""
    if name == "rustok":
        assert "rustok demo" in epilog and "rustok COMMAND --help" in epilog
        return
    assert epilog.startswith("examples:\n") and examples(epilog), f"{name}: no example"
    if parser.get_default("handler") is not None:
        assert any(e.startswith(name) for e in examples(epilog)), f"{name}: no example of itself"
    for example in examples(epilog):
        try:
            args, extra = cli._parser().parse_known_args(shlex.split(example)[1:])
        except SystemExit as exc:
            pytest.fail(f"{name}: the example {example!r} does not parse ({exc})")
        assert args.handler and (not extra or args.handler is cli.cmd_db_psql), f"{name}: {example!r}"


def test_help_is_what_the_real_command_prints() -> None:
    top = subprocess.run([*command(), "--help"], capture_output=True, text=True, check=True).stdout
    assert "first steps:" in top and "rustok demo" in top and "tenant" in top
    create = subprocess.run(
        [*command(), "tenant", "create", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "examples:" in create and "--password-stdin" in create
    assert "printf '%s\\n' \"$ADMIN_PASSWORD\" |" in create  # the epilog as written, not re-wrapped
    group = subprocess.run([*command(), "tenant"], capture_output=True, text=True, check=False)
    assert group.returncode == 2 and "create" in group.stdout and "export" in group.stdout


def test_the_log_formats_the_parser_offers_are_the_ones_logging_knows() -> None:
    assert cli.LOG_FORMATS == rustok_logging.FORMATS
