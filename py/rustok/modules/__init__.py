"""The modules this codebase ships, and the registry of the installed ones.

The contract a module is written against (RusToKModule, the Part shape, ModuleContext for its hooks, the
ModuleRegistry) is contract.py; each module is a package here (content, blog, commerce, index) and joins
AVAILABLE below, the one list of shipped modules. hooks.py runs their on_enable / on_disable."""

from __future__ import annotations

from collections.abc import Iterable

from rustok.modules import blog, commerce, content, index
from rustok.modules.contract import ModuleContext, ModuleError, ModuleHook, ModuleRegistry, Part, RusToKModule

__all__ = [
    "AVAILABLE",
    "ModuleContext",
    "ModuleError",
    "ModuleHook",
    "ModuleRegistry",
    "Part",
    "RusToKModule",
    "installed_registry",
]


# Every module this codebase ships. Feature modules add themselves here as they land.
AVAILABLE: tuple[RusToKModule, ...] = (content.MODULE, blog.MODULE, commerce.MODULE, index.MODULE)


def installed_registry(selected: Iterable[str] | None = None) -> ModuleRegistry:
    """The registry of installed modules: `selected` slugs (RUSTOK_MODULES), or every available module."""
    available = {m.slug: m for m in AVAILABLE}
    if selected is None:
        registry = ModuleRegistry(available.values())
    else:
        unknown = [s for s in selected if s not in available]
        if unknown:
            raise ModuleError(
                f"unknown module(s) in RUSTOK_MODULES: {', '.join(unknown)}; "
                f"available: {', '.join(available) or 'none'}"
            )
        registry = ModuleRegistry(available[s] for s in selected)
    registry.ordered()  # validates dependencies and cycles now, not on first use
    return registry
