"""Streamlit user interface: the only package that imports ``streamlit``.

``ui.maps`` and ``ui.tables`` are pure builders (frames in, folium map or
display table out); ``ui.cached`` holds every Streamlit cache wrapper around
the ``spatial`` back end; ``ui.state`` declares the session-state keys; the
page scripts live in ``ui/pages/`` and are routed by ``app.py``.
"""

__all__: list[str] = []
