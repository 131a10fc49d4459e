"""Spatial core of hotspot-tasking: incident schema, ingest, projection, grids, hotspots, forecasts.

Edges (file and database I/O) live in :mod:`spatial.ingest`, :mod:`spatial.store` and
:mod:`spatial.layers`; everything else is pure functions over (Geo)DataFrames in
British National Grid (EPSG:27700).  Nothing here imports Streamlit.
"""

__all__ = ["schema", "projection", "grids", "harm", "hotspots", "trends", "forecast", "evaluation", "series"]
