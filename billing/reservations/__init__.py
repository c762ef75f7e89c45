"""Reservations: fee policies (versioned, snapshotted at booking), reservations, the fee
decision (``rules``) and its one charge through the narrow door."""
