"""Tenant portability: `rustok tenant export SLUG FILE` and `rustok tenant import FILE` move a whole tenant
(every module's tables, ids kept) between databases. See docs/portability.md."""

from rustok.portability.catalog import Table, dependency_order, tenant_tables
from rustok.portability.transfer import FORMAT, VERSION, TransferReport, export_tenant, import_tenant

__all__ = [
    "FORMAT",
    "VERSION",
    "Table",
    "TransferReport",
    "dependency_order",
    "export_tenant",
    "import_tenant",
    "tenant_tables",
]
