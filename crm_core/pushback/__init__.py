"""Push-back: CRM-side changes recorded in an outbox and written to the systems that own
their fields, exactly once in effect, with conflicts caught and the hub's own writes
recognised when the next pull reads them back.

- :mod:`.submit`: the service the CLI, the HTTP API and Python callers share: validate a
  change against the model and the field ownership, store it with its routing in one
  transaction (the work in :mod:`.field_changes`, :mod:`.asset_changes`,
  :mod:`.concessions`, :mod:`.recording`, :mod:`.outbox_rows`, :mod:`.change_view`);
  :mod:`.bulk`: up to 10,000 field changes in one request, set-based;
- :mod:`.deliver`: the push-back run that drains the outbox through the connectors' write
  paths, with retries, dead letters and per-customer order (a delivery's steps in
  :mod:`.delivery_steps`, the run's result in :mod:`.push_result`);
- :mod:`.decide`: a delivery's decision on the target's current values, and the conflict
  policies;
- :mod:`.conflicts`, :mod:`.outbox`: what ops see and decide;
- :mod:`.echo`: the sync engine's check for the hub's own writes coming back.
"""

from crm_core.pushback.errors import ChangeRejected, UnknownChange

__all__ = ["ChangeRejected", "UnknownChange"]
