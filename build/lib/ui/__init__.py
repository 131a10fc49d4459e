"""Streamlit user interface: the only package that imports ``streamlit``.

``ui.maps`` and ``ui.tables`` are pure builders (frames in, folium map or
display table out); ``ui.planning`` (weeks, a plan's inputs read as
``hotspot-tasking allocate`` reads them, the plan, the meeting record, one
agent's share of a plan), ``ui.analysis`` (the Hotspots page's layers and
hot place panel) and ``ui.overview`` (the Overview page's comparisons, league
table and trends) hold the page logic without Streamlit; ``ui.cached`` holds every Streamlit
cache wrapper around the ``spatial``/``tasking`` back end; ``ui.state``
declares the session-state keys; the page scripts live in ``ui/pages/``
(overview, incidents, hotspots, tasking, my_patrols) and are routed by ``app.py``.
"""

__all__: list[str] = []
