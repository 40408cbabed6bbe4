"""Redis read models, rebuildable from the database."""
