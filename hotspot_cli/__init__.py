"""The ``hotspot-tasking`` command line, sub-command by sub-command (``area``, ``roster``, ...)."""
