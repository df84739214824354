"""The connector conformance kit: standard tests any connector, built in or third-party,
runs against itself (see docs/connectors.md).

``ConnectorConformance`` is a pytest base class; ``checks`` holds the same checks as plain
functions.
"""

from connectors.testing import checks
from connectors.testing.suite import ConnectorConformance

__all__ = ["ConnectorConformance", "checks"]
