"""Who may do what: API keys with their roles, and the name a recorded action is made under.

- :mod:`.api_keys`: keys (only their SHA-256 is stored), roles and scopes;
- :mod:`.actors`: one spelling of "who" for every manual action the hub records.
"""
