from __future__ import annotations

from billing.cli.main import main

main()
