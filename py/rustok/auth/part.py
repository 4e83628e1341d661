"""Auth as a platform part: the sign-in mutations (schema.graphql, graphql.py) and the account mutations whose
SDL is core's (accounts.py), all done by the process's one AuthService."""

from __future__ import annotations

from pathlib import Path

from rustok.auth.accounts import account_resolvers
from rustok.auth.graphql import resolvers as sign_in_resolvers
from rustok.auth.service import AuthService
from rustok.modules.contract import Part

SDL = (Path(__file__).parent / "schema.graphql").read_text()


def part(auth: AuthService) -> Part:
    return Part("auth", SDL, {**sign_in_resolvers(auth), **account_resolvers(auth.hashing)})
