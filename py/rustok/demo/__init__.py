"""`rustok demo`: a demo tenant with sample content, products and orders (see docs/e2e.md and the README)."""

from rustok.demo.loader import DemoOptions, DemoReport, load_demo

__all__ = ["DemoOptions", "DemoReport", "load_demo"]
