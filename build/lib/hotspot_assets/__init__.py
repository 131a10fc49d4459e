"""Bundled data, map assets and the dashboard of an installed hotspot-tasking (made by setup.py; see spatial.config.bundle_root)."""
