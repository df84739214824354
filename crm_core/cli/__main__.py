"""``python -m crm_core.cli`` runs the same as the ``crm-hub`` command."""

from crm_core.cli import main

main()
