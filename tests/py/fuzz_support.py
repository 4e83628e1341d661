"""The fuzz run (tests/py/test_fuzz.py, scripts/fuzz): a real `rustok serve` on a test database with a tenant
and a signed-in admin, and the `schemathesis` command against its /openapi.json and its GraphQL schema (the
merged SDL printed to a file: the server keeps introspection off, as in production). The criterion is
fuzz_hooks.no_internal_error: no 5xx and no INTERNAL code, a GraphQL 200 included."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx

from rustok.api.tokens import TokenIssuer
from rustok.config import REPO_ROOT
from rustok.db import Database
from rustok.graphql.artifact import merged_sdl
from rustok.ids import to_ulid
from rustok.modules import installed_registry
from rustok.platform import schema_parts
from tests.py.graphql_support import Tenant, make_tenant
from tests.py.serve_support import ServeProcess

JWT_SECRET = "fuzz-test-jwt-secret-0123456789abcdef-0123"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@dataclass(frozen=True)
class Budget:
    """How much fuzzing: test cases per operation and the seed (the same cases every time); or, with
    `seconds`, generating goes on until that time is spent (shared between the runs)."""

    examples: int
    seconds: int
    seed: int

    @classmethod
    def from_environment(cls, examples: int, seconds: int, seed: int) -> Budget:
        """RUSTOK_FUZZ_EXAMPLES, RUSTOK_FUZZ_SECONDS, RUSTOK_FUZZ_SEED (scripts/fuzz sets them) or the defaults."""
        env = os.environ
        return cls(
            int(env.get("RUSTOK_FUZZ_EXAMPLES") or examples),
            int(env.get("RUSTOK_FUZZ_SECONDS") or seconds),
            int(env.get("RUSTOK_FUZZ_SEED") or seed),
        )


class FuzzTarget:
    """The server under test and what a client needs to reach its authenticated operations."""

    def __init__(self, db: Database, workdir: Path) -> None:
        self.workdir = workdir
        self.tenant: Tenant = make_tenant(db, "fuzz")
        user = self.tenant.users["super_admin"]  # reaches every operation, the platform's included
        self.token = TokenIssuer(JWT_SECRET).issue(self.tenant.id, user, "super_admin")
        self.ids: list[str] = [to_ulid(self.tenant.users[role]) for role in ("manager", "customer")]
        self.sdl = workdir / "schema.graphql"
        self.sdl.write_text(merged_sdl(schema_parts(installed_registry())))  # the served schema
        self.server_log = workdir / "server.log"
        self.server = ServeProcess(db, workdir, {"RUSTOK_JWT_SECRET": JWT_SECRET}, log=self.server_log)

    def __enter__(self) -> FuzzTarget:
        try:
            self.server.wait_ready(time.monotonic() + 60)
            self._seed()
        except BaseException:
            self.server.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        headers = {"authorization": f"Bearer {self.token}"}
        answer = httpx.post(
            f"{self.server.base}/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        body = answer.json()
        assert "errors" not in body, body
        return body["data"]

    def _seed(self) -> None:
        """Things for the fuzzer's ids to find (a post, a comment, a category, a product, a cart with a line): a
        random id only ever meets NOT_FOUND, and the code behind it stays unexercised."""
        post = {"kind": "POST", "title": "Fuzz", "status": "PUBLISHED", "body": "Hello"}
        node = self.graphql("mutation($i: CreateNodeRequest!) { createNode(input: $i) { id } }", {"i": post})
        node_id = node["createNode"]["id"]
        comment = self.graphql('mutation($n: ID!) { addComment(nodeId: $n, body: "hi") { id } }', {"n": node_id})
        category = self.graphql('mutation { createCategory(input: {name: "Fuzz"}) { id } }')
        variant = {
            "title": "One",
            "sku": "FUZZ-1",
            "inventoryQuantity": 1000,
            "prices": [{"amount": 1000, "currencyCode": "EUR"}],
        }
        product = self.graphql(
            "mutation($i: CreateProductRequest!) { createProduct(input: $i) { id variants { id } } }",
            {"i": {"title": "Fuzz", "status": "PUBLISHED", "variants": [variant]}},
        )["createProduct"]
        variant_id = product["variants"][0]["id"]
        cart = self.graphql(
            "mutation($i: CreateCartRequest!) { createCart(input: $i) { id lines { id } } }",
            {"i": {"currencyCode": "EUR", "lines": [{"variantId": variant_id, "quantity": 1}]}},
        )["createCart"]
        self.ids += [node_id, comment["addComment"]["id"], category["createCategory"]["id"], product["id"]]
        self.ids += [variant_id, cart["id"], cart["lines"][0]["id"]]

    def run(self, run: FuzzRun, budget: Budget, report: Path | None = None) -> subprocess.CompletedProcess[str]:
        """One `schemathesis run` (the command's own output in the answer; with `report`, also written there)."""
        if run.schema == "openapi":
            target = [f"{self.server.base}/openapi.json"]
        else:
            target = [str(self.sdl), "--url", f"{self.server.base}/graphql"]
        who = ["--header", f"Authorization: Bearer {self.token}", "--header", f"X-Tenant: {self.tenant.slug}"]
        argv = [
            str(SCHEMATHESIS), "run", *target,
            *(who if run.signed_in else []),
            "--max-examples", str(budget.examples),
            *(["--max-time", str(max(1, round(budget.seconds * run.share)))] if budget.seconds else []),
            "--seed", str(budget.seed),
            "--workers", "2",
            "--request-timeout", "10",
            "--no-color",
            *run.options,
        ]  # fmt: skip
        env = os.environ | {
            "SCHEMATHESIS_HOOKS": "tests.py.fuzz_hooks",
            "PYTHONPATH": str(REPO_ROOT),
            "RUSTOK_FUZZ_IDS": ",".join(self.ids),
        }
        # --request-timeout keeps each case bounded, and this the whole run: a hung fuzzer fails, never stalls the suite
        limit = budget.seconds + 900
        done = subprocess.run(argv, cwd=self.workdir, env=env, capture_output=True, text=True, timeout=limit)
        if report is not None:
            report.mkdir(parents=True, exist_ok=True)
            (report / f"{run.name}.txt").write_text(done.stdout + done.stderr)
        return done


@dataclass(frozen=True)
class FuzzRun:
    """One pass of the fuzzer: which schema, as whom, with which checks, and its share of the time budget."""

    name: str
    schema: str  # "openapi" or "graphql"
    signed_in: bool
    share: float
    options: tuple[str, ...]


CRITERION = "no_internal_error"  # fuzz_hooks.py: no 5xx, no INTERNAL, only registered codes
RUNS = (
    # every conformance check schemathesis has (status codes, content types, headers, response schemas, which
    # requests are accepted and which refused) on the REST and GraphQL-over-HTTP envelopes, signed in
    FuzzRun(
        "openapi", "openapi", True, 0.35,
        ("--checks", f"all,{CRITERION}", "--exclude-path", "/api/events", "--phases", "coverage,fuzzing"),
    ),
    # the event stream anonymously: signed in, a valid request would stream until the token expires. The
    # coverage phase turns a header value such as "0.0" into the number 0 and calls it valid (schemathesis
    # 4.32), so acceptance of valid requests is left to the other runs
    FuzzRun(
        "events", "openapi", False, 0.15,
        ("--checks", f"all,{CRITERION}", "--exclude-checks", "positive_data_acceptance",
         "--include-path", "/api/events", "--phases", "coverage,fuzzing"),
    ),
    # every query and mutation of the merged SDL with generated arguments (the ids of seeded things among
    # them), signed in as a super admin. graphql's own not_a_server_error would count every domain error
    # carrying a path (NOT_FOUND, FORBIDDEN…) as a server error: the criterion is ours
    FuzzRun("graphql", "graphql", True, 0.5, ("--checks", CRITERION)),
)  # fmt: skip
