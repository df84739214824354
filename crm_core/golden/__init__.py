"""Golden records: one record per customer, built from every system's records.

Identity resolution (:mod:`crm_core.identity`) says which source records are the same
customer; this package gives each cluster a golden id that never changes
(:mod:`~crm_core.golden.ids`), builds its fields by survivorship rules with lineage
(:mod:`~crm_core.golden.survivorship`), applies the stewards' merges, unmerges and pins
(:mod:`~crm_core.golden.stewardship`) and adds up each customer's orders, credit,
invoices and payments across systems (:mod:`~crm_core.golden.customer360`).

    outcome = reconcile(store, config.reconcile)       # a ledger run, incremental
    view = customer_360(store, "G00000042")
"""

from crm_core.golden.customer360 import customer_360, linked_rows
from crm_core.golden.reconcile import reconcile
from crm_core.golden.stewardship import list_actions, merge, pin, undo, unmerge, unpin

__all__ = [
    "customer_360",
    "linked_rows",
    "list_actions",
    "merge",
    "pin",
    "reconcile",
    "undo",
    "unmerge",
    "unpin",
]
