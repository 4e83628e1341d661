"""GraphQL: SDL-first schema merged from modules, one SQL function per field, limits, a planner."""
