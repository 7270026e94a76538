"""newsarchive: crawl and archive news portals into a clean, searchable SQLite archive."""

__version__ = "0.1.0"
