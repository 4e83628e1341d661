"""Password hashing with argon2id at OWASP's minimum (m=19 MiB, t=2, p=1) or stronger."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from rustok.errors import ValidationFailed

MIN_LENGTH = 8
MAX_LENGTH = 1024  # argon2 accepts more, but a megabyte password is an attack, not a password

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def check_policy(password: str) -> None:
    """Raises ValidationFailed (field password) for a password too short or too long."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise ValidationFailed(f"password must be {MIN_LENGTH} to {MAX_LENGTH} characters", {"field": "password"})


def hash_password(password: str) -> str:
    check_policy(password)
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than today's (rehash on the next login)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
