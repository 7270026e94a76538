"""Datasette plugins that `newsarchive browse` loads (with --plugins-dir)."""
