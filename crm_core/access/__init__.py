"""Who may do what: API keys with their roles, and the name a recorded action is made under.

- :mod:`.api_keys`: keys (only their SHA-256 is stored), roles and scopes;
- :mod:`.roles`: the roles alone, for what names them without the store (the CLI's help);
- :mod:`.actors`: one spelling of "who" for every manual action the hub records.
"""
