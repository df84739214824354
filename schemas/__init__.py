"""The unified customer model, settings, errors and the Source protocol (layer L0)."""
