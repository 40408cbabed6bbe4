"""Domain core: tracks, conversion, ledgers, points. No web, no Redis."""
