"""The Python module registry: the manifest's RusToKModule contract, dependencies checked, cycles refused."""

from __future__ import annotations

import pytest

from rustok.modules import ModuleError, ModuleRegistry, RusToKModule, installed_registry


def module(slug: str, *deps: str) -> RusToKModule:
    return RusToKModule(slug=slug, name=slug.title(), description="", version="1.0", dependencies=deps)


def test_orders_each_module_after_its_dependencies() -> None:
    registry = ModuleRegistry(
        [module("index", "commerce", "content"), module("blog", "content"), module("content"), module("commerce")]
    )
    order = [m.slug for m in registry.ordered()]
    assert order.index("content") < order.index("blog")
    assert order.index("content") < order.index("index") and order.index("commerce") < order.index("index")
    assert registry.dependents_of("content") == ["blog", "index"]


def test_refuses_a_missing_dependency() -> None:
    with pytest.raises(ModuleError, match="not installed"):
        ModuleRegistry([module("blog", "content")]).ordered()


def test_refuses_a_cycle() -> None:
    with pytest.raises(ModuleError, match="cycle"):
        ModuleRegistry([module("a", "b"), module("b", "c"), module("c", "a")]).ordered()


def test_refuses_duplicates_and_the_core_slug() -> None:
    with pytest.raises(ModuleError, match="twice"):
        ModuleRegistry([module("a"), module("a")])
    with pytest.raises(ModuleError, match="platform"):
        ModuleRegistry([module("core")])


def test_installed_modules_are_configuration() -> None:
    with pytest.raises(ModuleError, match="unknown module"):
        installed_registry(["no-such-module"])
    assert len(installed_registry([])) == 0
