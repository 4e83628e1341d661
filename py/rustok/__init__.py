"""RusToK: a multi-tenant headless CMS and commerce platform whose logic lives in PostgreSQL."""

__version__ = "0.1.0"
