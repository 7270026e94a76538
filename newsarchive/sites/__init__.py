"""Per-site knowledge: one declarative TOML profile per portal (see schema.py)."""

from newsarchive.sites.schema import (
    SiteProfile,
    find_profile,
    list_profiles,
    load_profile,
    load_profile_file,
)

__all__ = ["SiteProfile", "find_profile", "list_profiles", "load_profile", "load_profile_file"]
