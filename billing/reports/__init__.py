"""Reports over the schedule store: collections by month, plan and location.

``query.collections(session, period, now=...)`` returns a frozen ``CollectionsReport``;
``terminal``, ``jsonout`` and ``html`` render it (nothing here prints by itself).
"""
