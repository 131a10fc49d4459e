"""The ``hotspot-tasking`` command line: thin argument parsing over the application layer (``main.build_parser``)."""
