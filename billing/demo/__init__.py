"""``billing demo``: a restaurant's year of billing, simulated against the embedded sandbox."""
