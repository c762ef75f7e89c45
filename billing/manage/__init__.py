"""Use cases staff and the enrollment API run against the store (plans, members, one-offs)."""
