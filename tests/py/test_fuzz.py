"""Fuzzing in the suite (issue 13, points 9 and 11): schemathesis against a real `rustok serve` — its
/openapi.json (with every conformance check: the document and the endpoints agree) and its GraphQL schema,
signed in as a tenant's super admin. The criterion: no 5xx and no INTERNAL code in any answer, a GraphQL 200
included (fuzz_hooks.no_internal_error). Short and seeded here (about 20 s); `scripts/fuzz` runs it longer
(RUSTOK_FUZZ_EXAMPLES, RUSTOK_FUZZ_SECONDS, RUSTOK_FUZZ_SEED; reports under RUSTOK_FUZZ_REPORT)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from rustok.db import Database
from tests.py.fuzz_support import RUNS, Budget, FuzzRun, FuzzTarget

BUDGET = Budget.from_environment(examples=5, seconds=0, seed=13)
REPORT = Path(os.environ["RUSTOK_FUZZ_REPORT"]) if os.environ.get("RUSTOK_FUZZ_REPORT") else None


@pytest.fixture(scope="module")
def target(db: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    with FuzzTarget(db, tmp_path_factory.mktemp("fuzz")) as target:
        yield target


@pytest.mark.slow
@pytest.mark.parametrize("run", RUNS, ids=[run.name for run in RUNS])
def test_fuzzing_finds_no_server_error_and_no_disagreement(target: FuzzTarget, run: FuzzRun) -> None:
    done = target.run(run, BUDGET, REPORT)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert re.search(r"[1-9][0-9]* generated", done.stdout), done.stdout  # it ran, and reported
    logged = target.server_log.read_text()
    assert '"level":"error"' not in logged, logged[-4000:]  # nothing unexpected, not even behind a 4xx
