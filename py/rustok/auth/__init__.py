"""Authentication: password hashing here; tokens, sessions and throttling arrive with the API layer."""
