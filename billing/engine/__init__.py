"""The charging engine: claim due charges, collect them through Toast, settle the unknown."""
