"""Named points where a test can make the process die on purpose, to prove recovery.

``CRM_HUB_FAILPOINTS=pushback.after_write`` ends the process (exit code 75) right after
push-back wrote a change to its target and before it recorded that in the outbox: the
crash that at-least-once delivery with idempotent writes must survive. Unset, a failpoint
costs one dictionary lookup.
"""

from __future__ import annotations

import os

ENV = "CRM_HUB_FAILPOINTS"
EXIT_CODE = 75


def failpoint(name: str) -> None:
    """Die here if ``$CRM_HUB_FAILPOINTS`` names this point."""
    wanted = os.environ.get(ENV)
    if wanted and name in wanted.split(","):
        os._exit(EXIT_CODE)
