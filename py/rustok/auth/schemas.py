"""The auth endpoints' DTOs (camelCase JSON). Requests are validated here for shape; the SQL functions remain
the authority on the rules (email format, uniqueness, who may sign in)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from rustok.api.schemas import ApiModel
from rustok.api.tenancy import TENANT_SLUG
from rustok.auth.passwords import MAX_LENGTH, MIN_LENGTH
from rustok.ids import ULID_PATTERN

# The document's patterns (JSON Schema regular expressions), pydantic's (Rust's) and PostgreSQL's disagree on
# what \s means, so a pattern here names its characters, and accepts only what the SQL rule then accepts:
# rustok._insert_user trims spaces (only spaces) and wants "x@y.z" without whitespace.
_VISIBLE = r"[^@\x00-\x20\x7f\x85\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
_EMAIL = rf"^ *{_VISIBLE}+@{_VISIBLE}+\.{_VISIBLE}+ *$"
_ANY_EMAIL = r"^[^\x00]*[^\x00 ][^\x00]*$"  # a login's: something besides spaces (rustok.begin_login), no NUL
_NO_NUL = r"^[^\x00]*$"  # text that goes to the database (which cannot store NUL)
_TENANT = Field(
    default=None,
    pattern=TENANT_SLUG,
    description="Tenant slug. May be given by the X-Tenant header instead; if both are given they must agree.",
)


class RegisterRequest(ApiModel):
    tenant: str | None = _TENANT
    email: str = Field(max_length=255, pattern=_EMAIL, examples=["ada@example.com"])
    password: str = Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH)
    display_name: str | None = Field(
        default=None,
        max_length=255,
        pattern=_NO_NUL,
        description="The name others see (comment authors).",
        examples=["Ada Lovelace"],
    )


class LoginRequest(ApiModel):
    tenant: str | None = _TENANT
    email: str = Field(min_length=1, max_length=255, pattern=_ANY_EMAIL)
    password: str = Field(min_length=1, max_length=MAX_LENGTH)


class RefreshRequest(ApiModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class LogoutRequest(ApiModel):
    refresh_token: str = Field(
        min_length=1, max_length=200, description="Revokes this token's family (the session of one login)."
    )


class UserResponse(ApiModel):
    id: str = Field(description="ULID", pattern=ULID_PATTERN)
    email: str
    role: Literal["super_admin", "admin", "manager", "customer"]
    status: Literal["active", "disabled"]
    display_name: str | None
    created_at: datetime
    updated_at: datetime


class AuthResponse(ApiModel):
    user: UserResponse
    access_token: str = Field(description="JWT (HS256) for `Authorization: Bearer`; claims tenant, user and role.")
    refresh_token: str = Field(description="Opaque, single use: each refresh returns a new one.")
    expires_in: int = Field(description="Seconds until the access token expires.")


class MeResponse(ApiModel):
    user: UserResponse
