"""Pure map builders: (Geo)DataFrames in, :class:`folium.Map` out.

No Streamlit, database, network or clock access happens here, so every map can
be rendered to HTML and checked in a plain test.

Offline by construction
-----------------------
No CDN is reachable where the dashboard runs, so the maps load Leaflet (and
the other libraries folium's templates expect: jQuery, Bootstrap,
Leaflet.awesome-markers, Font Awesome) from the app's own ``static/`` folder,
which Streamlit serves at ``/app/static/`` when ``server.enableStaticServing``
is on.  The URLs are root-relative because ``st_folium`` draws the map inside
an iframe served under ``/component/``.  No tile layer is added unless a tile
server URL is given (``HOTSPOT_TILES_URL``), because none is reachable by
default.

Safeguarding
------------
The queries never return sensitive categories as points; :func:`incidents_map`
drops any row whose category is sensitive all the same (a second line of
defence), so a sensitive incident can never be drawn.
"""

from __future__ import annotations

import html
import os
from collections.abc import Collection, Mapping
from typing import Final

import folium
import geopandas as gpd
import pandas as pd
from branca.element import MacroElement
from folium.plugins import MarkerCluster
from folium.template import Template

from spatial._errors import CRSError, SchemaError
from spatial.schema import (
    CATEGORY,
    LAT,
    LOCATION_TEXT,
    LON,
    MONTH,
    SENSITIVE,
    WGS84,
    Taxonomy,
    load_taxonomy,
)
from tasking.names import short_name

__all__ = [
    "STATIC_URL", "MAX_POINTS", "DOC_CLUSTER_ABOVE", "doc_cluster", "TILES_URL_ENV", "TILES_ATTRIBUTION_ENV", "INCIDENTS_LAYER", "WARDS_LAYER",
    "WARD_HARM_LAYER", "GI_LAYER", "KDE_LAYER", "CLUSTERS_LAYER", "DOC_LAYER", "HOTSPOT_LAYERS", "PLACES_LAYER",
    "EMERGING_LAYER", "ESTATES_LAYER", "PARKS_LAYER", "FIXED_CCTV_LAYER", "DEPLOYABLE_CCTV_LAYER", "EMERGING_COLOURS",
    "HARM_COLOURS", "static_url_for", "local_assets", "offline_map", "tiles_from_env", "category_colours",
    "mappable_points", "incidents_map", "harm_classes", "hotspots_map", "patrol_map",
    "REVIEW_TASKED_LAYER", "REVIEW_BUFFER_LAYER", "REVIEW_CONTROL_LAYER", "REVIEW_LAYERS", "review_map",
    "CCTV_FIXED_LAYER", "CCTV_DEPLOYED_LAYER", "CCTV_SITES_LAYER", "CCTV_WHATIF_LAYER", "CCTV_LAYERS", "cctv_map",
    "STREETS_LAYER", "WARD_NAMES_LAYER", "label_bounds", "STREET_MAJOR", "PHONE_STREETS", "STREET_LABEL_CLASS", "WARD_LABEL_CLASS",
]

#: Where Streamlit serves ``static/`` (``server.enableStaticServing``), without a base URL path.
STATIC_URL: Final = "/app/static"
#: Most incident points drawn on one map; above this a fixed-seed random sample is drawn.
MAX_POINTS: Final = 5_000
#: Environment variable naming an XYZ tile server (``https://host/{z}/{x}/{y}.png``); unset = no tiles.
TILES_URL_ENV: Final = "HOTSPOT_TILES_URL"
#: Environment variable with the attribution the tile server requires.
TILES_ATTRIBUTION_ENV: Final = "HOTSPOT_TILES_ATTRIBUTION"
#: Name of the incident points layer in the layer control.
INCIDENTS_LAYER: Final = "Incidents"
#: Name of the ward boundaries layer in the layer control.
WARDS_LAYER: Final = "Ward boundaries"
#: Layer names of the hotspots map, in drawing order.
WARD_HARM_LAYER: Final = "Ward harm (choropleth)"
GI_LAYER: Final = "Gi* hot cells (95% and 99%)"
KDE_LAYER: Final = "KDE hotspot cells"
CLUSTERS_LAYER: Final = "DBSCAN clusters"
DOC_LAYER: Final = "Designing Out Crime advice"
EMERGING_LAYER: Final = "Emerging hotspots (trend classes)"
ESTATES_LAYER: Final = "Housing estates"
PARKS_LAYER: Final = "Parks and open spaces"
FIXED_CCTV_LAYER: Final = "Fixed CCTV coverage"
DEPLOYABLE_CCTV_LAYER: Final = "Deployable CCTV sites"
HOTSPOT_LAYERS: Final = (WARD_HARM_LAYER, ESTATES_LAYER, PARKS_LAYER, KDE_LAYER, GI_LAYER, EMERGING_LAYER,
                         CLUSTERS_LAYER, FIXED_CCTV_LAYER, DEPLOYABLE_CCTV_LAYER, DOC_LAYER)
#: Fill colour of each emerging-hotspot class family (hot: reds by how current; cold: blues).
EMERGING_COLOURS: Final = {
    "new hot spot": "#67000D", "consecutive hot spot": "#A50F15", "intensifying hot spot": "#CB181D",
    "persistent hot spot": "#EF3B2C", "diminishing hot spot": "#FC9272", "sporadic hot spot": "#FB6A4A",
    "oscillating hot spot": "#FCBBA1", "historical hot spot": "#FEE0D2",
    "new cold spot": "#08306B", "consecutive cold spot": "#08519C", "intensifying cold spot": "#2171B5",
    "persistent cold spot": "#4292C6", "diminishing cold spot": "#9ECAE1", "sporadic cold spot": "#6BAED6",
    "oscillating cold spot": "#C6DBEF", "historical cold spot": "#DEEBF7",
}
#: Name of the places layer of a patroller's map.
PLACES_LAYER: Final = "My places this week"
#: Choropleth classes, light to dark (ColorBrewer YlOrRd, 5 classes).
HARM_COLOURS: Final = ("#FFFFB2", "#FECC5C", "#FD8D3C", "#F03B20", "#BD0026")

# folium's default assets, as files under static/ (see static/README.md for versions and licences).
# folium 0.20 also links bootstrap-glyphicons (Bootstrap 3) and an awesome-rotate stylesheet from
# GitHub; neither is packaged on npm, so they are dropped: the maps use neither.
_JS: Final = (
    ("leaflet", "leaflet-1.9.3/leaflet.js"),
    ("jquery", "jquery-3.7.1/jquery.min.js"),
    ("bootstrap", "bootstrap-5.2.2/bootstrap.bundle.min.js"),
    ("awesome_markers", "awesome-markers-2.0.5/leaflet.awesome-markers.js"),
)
_CSS: Final = (
    ("leaflet_css", "leaflet-1.9.3/leaflet.css"),
    ("bootstrap_css", "bootstrap-5.2.2/bootstrap.min.css"),
    ("awesome_markers_font_css", "fontawesome-free-6.2.0/css/all.min.css"),
    ("awesome_markers_css", "awesome-markers-2.0.5/leaflet.awesome-markers.css"),
)

# Distinct colours, in taxonomy order of the non-sensitive categories (the 13 police.uk ones first,
# then the council ones); cycled if the taxonomy grows.
_PALETTE: Final = (
    "#1F77B4", "#17BECF", "#D62728", "#8C564B", "#2CA02C", "#7F7F7F", "#BCBD22", "#000000", "#9467BD",
    "#FF7F0E", "#E377C2", "#FFD92F", "#393B79",
    "#66C2A5", "#A6761D", "#E7298A", "#7570B3", "#1B9E77", "#D95F02", "#666666", "#E6AB02", "#A6CEE3",
)
_LAYER_COLOURS: Final = ("#B35806", "#1B7837", "#4D9221", "#762A83")
_WARD_SELECTED: Final = {"color": "#08306B", "weight": 2.5, "fillColor": "#08306B", "fillOpacity": 0.04}
_WARD_OTHER: Final = {"color": "#6B6B6B", "weight": 1, "dashArray": "4 4", "fillOpacity": 0.0}
_WARD_SIMPLIFY_M: Final = 2.0
#: Name of the street-name labels layer (every map; on by default).
STREETS_LAYER: Final = "Street names"
#: Name of the ward-name labels layer (every map; on by default).
WARD_NAMES_LAYER: Final = "Ward names"
#: The busiest streets labelled at every zoom; the others only when zoomed in (:data:`_MINOR_ZOOM` and closer).
STREET_MAJOR: Final = 12
#: Most streets labelled on a warden's phone map (My patrols, a 390 x 844 screen).
PHONE_STREETS: Final = 12
#: CSS classes of the street and ward labels (Leaflet divIcons).
STREET_LABEL_CLASS: Final = "hotspot-street-label"
PLACE_LABEL_CLASS: Final = "hotspot-place-label"
WARD_LABEL_CLASS: Final = "hotspot-ward-label"
_MINOR_ZOOM: Final = 15
_HALO: Final = ("text-shadow:-1px -1px 0 #fff,1px -1px 0 #fff,-1px 1px 0 #fff,1px 1px 0 #fff,0 0 3px #fff;"
                "white-space:nowrap;pointer-events:none;position:absolute;transform:translate(-50%,-50%);")
_STREET_STYLE: Final = f"font:italic 11px/1.1 sans-serif;color:#303030;{_HALO}"
#: A named place: bold, dark blue, just above its marker.
_PLACE_STYLE: Final = f"font:bold 12px/1.1 sans-serif;color:#08306B;margin-top:-15px;{_HALO}"
_WARD_STYLE: Final = (f"font:bold 11px/1.1 sans-serif;color:#08306B;letter-spacing:0.06em;text-transform:uppercase;"
                      f"opacity:0.8;{_HALO}")


def static_url_for(base_url_path: str = "") -> str:
    """URL prefix of ``static/`` for a server run with ``server.baseUrlPath``.

    Examples
    --------
    >>> static_url_for("")
    '/app/static'
    >>> static_url_for("/safety/")
    '/safety/app/static'
    """
    base = base_url_path.strip("/")
    return f"/{base}{STATIC_URL}" if base else STATIC_URL


def local_assets(static_url: str = STATIC_URL) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(default_js, default_css)`` pointing folium at the files in ``static/``.

    Raises
    ------
    ValueError
        If ``static_url`` is absolute (``http://`` or ``//``): the assets must be
        served by the app itself.
    """
    if "//" in static_url or not static_url.startswith("/"):
        msg = f"static_url was {static_url!r} but must be a root-relative path such as {STATIC_URL!r}"
        raise ValueError(msg)
    root = static_url.rstrip("/")
    return [(n, f"{root}/{p}") for n, p in _JS], [(n, f"{root}/{p}") for n, p in _CSS]


#: More Designing Out Crime places than this on the Hotspots map are drawn as clusters (:func:`doc_cluster`).
DOC_CLUSTER_ABOVE: Final = 60
#: Leaflet.markercluster under ``static/`` (see static/README.md), linked by :func:`doc_cluster`.
_CLUSTER_JS: Final = ("markerclusterjs", "leaflet.markercluster-1.5.3/leaflet.markercluster.js")
_CLUSTER_CSS: Final = (("markerclustercss", "leaflet.markercluster-1.5.3/MarkerCluster.css"),
                       ("markerclusterdefaultcss", "leaflet.markercluster-1.5.3/MarkerCluster.Default.css"))


# Every cluster in the plugin's green (its "small" style), the advice's colour in the legend: its default
# yellow and orange for bigger clusters would read as the harm shading's classes.
_DOC_CLUSTER_ICON: Final = """function (cluster) {
    return L.divIcon({html: '<div><span>' + cluster.getChildCount() + '</span></div>',
                      className: 'marker-cluster marker-cluster-small', iconSize: new L.Point(40, 40)});
}"""


def doc_cluster(static_url: str = STATIC_URL) -> MarkerCluster:
    """A marker cluster group (folium's ``MarkerCluster``) that loads Leaflet.markercluster from ``static/``.

    Clusters split as one zooms in and are off from zoom 16 (a street's scale), so every place can be
    clicked; the cluster's outline is not drawn on hover (it would read as a hotspot's boundary), and every
    cluster is green, the advice's colour, whatever its size.

    Examples
    --------
    >>> c = doc_cluster("/app/static")
    >>> c.default_js, c.default_css[0][1]
    ([('markerclusterjs', '/app/static/leaflet.markercluster-1.5.3/leaflet.markercluster.js')], '/app/static/leaflet.markercluster-1.5.3/MarkerCluster.css')
    """
    local_assets(static_url)  # the same check: root-relative, served by the app
    root = static_url.rstrip("/")
    cluster = MarkerCluster(name=DOC_LAYER, control=False, icon_create_function=_DOC_CLUSTER_ICON, options={
        "disableClusteringAtZoom": 16, "showCoverageOnHover": False, "maxClusterRadius": 45})
    cluster.default_js = [(_CLUSTER_JS[0], f"{root}/{_CLUSTER_JS[1]}")]
    cluster.default_css = [(n, f"{root}/{u}") for n, u in _CLUSTER_CSS]
    return cluster


def tiles_from_env(environ: Mapping[str, str] | None = None) -> tuple[str | None, str | None]:
    """``(tiles_url, attribution)`` from ``HOTSPOT_TILES_URL``/``HOTSPOT_TILES_ATTRIBUTION`` (unset: ``None``)."""
    env = os.environ if environ is None else environ
    url = env.get(TILES_URL_ENV, "").strip() or None
    attribution = env.get(TILES_ATTRIBUTION_ENV, "").strip() or None
    return url, attribution


def offline_map(*, location: tuple[float, float], zoom_start: int = 13, static_url: str = STATIC_URL,
                tiles_url: str | None = None, tiles_attribution: str | None = None) -> folium.Map:
    """A :class:`folium.Map` whose JavaScript and CSS come from ``static/``, with no tiles by default.

    The asset lists are set on the instance, so folium's class-level defaults
    (CDN URLs) stay untouched for any other code in the process.

    Raises
    ------
    ValueError
        If ``tiles_url`` is given without ``tiles_attribution`` (tile servers
        require their attribution on the map).
    """
    if tiles_url and not tiles_attribution:
        msg = (f"a tile server was given ({tiles_url!r}) without an attribution; "
               f"set {TILES_ATTRIBUTION_ENV} to the text the tile provider requires")
        raise ValueError(msg)
    m = folium.Map(location=list(location), zoom_start=zoom_start, tiles=None, control_scale=True,
                   zoom_snap=0.25, zoom_delta=0.5)
    # without a tile layer Leaflet has no highest zoom, and a marker cluster needs one (a tile server's 19)
    m.options["max_zoom"] = 19
    m.default_js, m.default_css = local_assets(static_url)
    if tiles_url:
        folium.TileLayer(tiles=tiles_url, attr=tiles_attribution, name="Base map", max_zoom=19).add_to(m)
    return m


def label_bounds(where: pd.DataFrame, *, pad_m: float = 0.0) -> tuple[float, float, float, float] | None:
    """``(xmin, ymin, xmax, ymax)`` in EPSG:27700 of polygons (any CRS) or of a frame's ``x, y``, widened by
    ``pad_m``: the extent a map's street labels are taken from (``None`` when there is nothing).

    Examples
    --------
    >>> label_bounds(pd.DataFrame({"x": [100.0, 300.0], "y": [50.0, 80.0]}), pad_m=10)
    (90.0, 40.0, 310.0, 90.0)
    """
    if len(where) == 0:
        return None
    if isinstance(where, gpd.GeoDataFrame) and where.geometry.name in where.columns and where.crs is not None:
        xmin, ymin, xmax, ymax = (float(v) for v in where.to_crs("EPSG:27700").total_bounds)
    else:
        xmin, ymin = float(where["x"].min()), float(where["y"].min())
        xmax, ymax = float(where["x"].max()), float(where["y"].max())
    return xmin - pad_m, ymin - pad_m, xmax + pad_m, ymax + pad_m


def category_colours(taxonomy: Taxonomy | None = None) -> dict[str, str]:
    """A fixed colour for every non-sensitive category slug, in taxonomy order."""
    tax = taxonomy or load_taxonomy()
    slugs = [s for s, c in tax.categories.items() if not c.sensitive]
    return {s: _PALETTE[i % len(_PALETTE)] for i, s in enumerate(slugs)}


def mappable_points(points: pd.DataFrame, *, taxonomy: Taxonomy | None = None) -> pd.DataFrame:
    """The rows of ``points`` that may be drawn: not sensitive, with coordinates.

    Rows are dropped when their category is sensitive in the taxonomy, when a
    ``sensitive`` column marks them sensitive, or when ``lon``/``lat`` is missing.

    Raises
    ------
    SchemaError
        If ``points`` lacks ``category``, ``lon`` or ``lat``.
    """
    missing = [c for c in (CATEGORY, LON, LAT) if c not in points.columns]
    if missing:
        msg = (f"points lack the columns {missing}; expected the frame of "
               f"spatial.store.queries.map_incidents (columns {list(points.columns)})")
        raise SchemaError(msg)
    tax = taxonomy or load_taxonomy()
    keep = ~points[CATEGORY].isin(tax.sensitive_slugs()) & points[LON].notna() & points[LAT].notna()
    if SENSITIVE in points.columns:
        keep &= ~points[SENSITIVE].fillna(True).astype(bool)
    return points.loc[keep]


class _MapNote(MacroElement):
    """A Leaflet control holding a small block of HTML (legend and notes)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
            {{ this.get_name() }}.onAdd = function (map) {
                var div = L.DomUtil.create("div", "hotspot-map-note");
                div.style.background = "rgba(255, 255, 255, 0.92)";
                div.style.padding = "6px 9px";
                div.style.borderRadius = "4px";
                div.style.boxShadow = "0 1px 4px rgba(0, 0, 0, 0.35)";
                div.style.font = "12px/1.45 sans-serif";
                div.style.maxWidth = "300px";
                div.innerHTML = {{ this.body|tojson }};
                return div;
            };
            {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, body: str, *, position: str = "bottomright") -> None:
        super().__init__()
        self._name = "MapNote"
        self.body = body
        self.position = position


class _Labels(MacroElement):
    """Non-interactive text labels (Leaflet divIcons) in a feature group, drawn from one JSON list.

    Each label is ``[lat, lon, text, minor]`` with ``text`` already
    HTML-escaped (:func:`_text`); the script wraps it in one ``<span>`` with
    the layer's style.  Minor labels are hidden below zoom :data:`_MINOR_ZOOM`
    so that a borough map shows only the busiest streets, and at every zoom a
    label that would overlap one already shown is hidden, so names never print
    over each other: every label layer of a map is laid out together, by
    ``priority`` (0 the plan's places, 1 ward names, 2 streets) and then in
    list order (busiest first).  One loop in the script
    instead of one folium Marker per label keeps the page's HTML small.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function () {
                var group = {{ this._parent.get_name() }};
                var map = {{ this.map_name }};
                var style = {{ this.style|tojson }};
                var minorZoom = {{ this.minor_zoom }};
                var entries = [];
                var labels = {{ this.labels|tojson }};
                labels.forEach(function (l) {
                    var m = new L.Marker([l[0], l[1]], {
                        icon: L.divIcon({html: '<span style="' + style + '">' + l[2] + "</span>",
                                         className: {{ this.class_name|tojson }}, iconSize: [0, 0]}),
                        interactive: false, keyboard: false
                    }).addTo(group);
                    entries.push({marker: m, at: L.latLng(l[0], l[1]), minor: !!l[3],
                                  chars: String(l[2]).replace(/&[a-z#0-9]+;/gi, "x").length});
                });
                // Every label layer of the map is laid out together: places first, then ward names, then
                // streets (busiest first within each); a label that would overlap one already shown is
                // hidden (screen boxes, recomputed at every zoom), and minor ones show only from minorZoom.
                var sets = map._hotspotLabelSets || (map._hotspotLabelSets = []);
                sets.push({group: group, entries: entries, priority: {{ this.priority }}, minorZoom: minorZoom});
                if (!map._hotspotLayout) {
                    map._hotspotLayout = function () {
                        var zoom = map.getZoom(), placed = [];
                        map._hotspotLabelSets.slice().sort(function (a, b) { return a.priority - b.priority; })
                            .forEach(function (set) {
                                if (!map.hasLayer(set.group)) { return; }
                                set.entries.forEach(function (e) {
                                    var el = e.marker.getElement();
                                    if (!el) { return; }
                                    var ok = !(e.minor && zoom < set.minorZoom);
                                    if (ok) {
                                        el.style.display = "";
                                        var span = el.firstChild, p = map.latLngToContainerPoint(e.at);
                                        // not laid out yet (the frame still hidden) measures 0: estimate from the text
                                        var w = span && span.offsetWidth ? span.offsetWidth : 6.5 * e.chars;
                                        var h = span && span.offsetHeight ? span.offsetHeight : 14;
                                        var top = span && span.offsetTop ? span.offsetTop : 0;
                                        var box = [p.x - w / 2 - 3, p.y + top - h / 2 - 1, p.x + w / 2 + 3,
                                                   p.y + top + h / 2 + 1];
                                        for (var i = 0; i < placed.length && ok; i++) {
                                            var q = placed[i];
                                            if (box[0] < q[2] && q[0] < box[2] && box[1] < q[3] && q[1] < box[3]) {
                                                ok = false;
                                            }
                                        }
                                        if (ok) { placed.push(box); }
                                    }
                                    el.style.display = ok ? "" : "none";
                                });
                            });
                    };
                    map.on("zoomend moveend resize overlayadd overlayremove", map._hotspotLayout);
                    map.whenReady(map._hotspotLayout);
                }
                group.on("add", map._hotspotLayout);
            })();
        {% endmacro %}
        """
    )

    def __init__(self, labels: list[list[object]], *, class_name: str, style: str, map_name: str, priority: int = 2,
                 minor_zoom: int = _MINOR_ZOOM) -> None:
        super().__init__()
        self._name = "Labels"
        self.labels = labels
        self.class_name = class_name
        self.style = style
        self.map_name = map_name
        self.minor_zoom = int(minor_zoom)
        self.priority = int(priority)


def _street_group(m: folium.Map, streets: pd.DataFrame | None) -> None:
    """The "Street names" layer: one label per row of ``streets`` (``street, x, y`` in EPSG:27700, busiest first,
    :func:`tasking.streets.street_labels`); the first :data:`STREET_MAJOR` streets at every zoom."""
    group = folium.FeatureGroup(name=STREETS_LAYER, show=True).add_to(m)
    if streets is None or len(streets) == 0:
        return
    missing = [c for c in ("street", "x", "y") if c not in streets.columns]
    if missing:
        msg = f"streets lack the columns {missing}; expected tasking.streets.street_labels() output"
        raise SchemaError(msg)
    ll = _bng_points(streets[["street", "x", "y"]])
    rank = {name: k for k, name in enumerate(dict.fromkeys(streets["street"]))}
    labels: list[list[object]] = [[round(pt.y, 6), round(pt.x, 6), _text(name), rank[name] >= STREET_MAJOR]
                                  for name, pt in zip(ll["street"], ll.geometry, strict=True)]
    _Labels(labels, class_name=STREET_LABEL_CLASS, style=_STREET_STYLE, map_name=m.get_name(),
            priority=2).add_to(group)


def _ward_names_group(m: folium.Map, wards: gpd.GeoDataFrame) -> None:
    """The "Ward names" layer: each ward's name at a point inside it (``ward_name``, any CRS)."""
    group = folium.FeatureGroup(name=WARD_NAMES_LAYER, show=True).add_to(m)
    if len(wards) == 0 or "ward_name" not in wards.columns:
        return
    inside = gpd.GeoDataFrame(wards[["ward_name"]], geometry=wards.geometry.representative_point(), crs=wards.crs)
    ll = _to_wgs84(inside, "ward boundaries")
    labels: list[list[object]] = [[round(pt.y, 6), round(pt.x, 6), _text(name), False]
                                  for name, pt in zip(ll["ward_name"], ll.geometry, strict=True)
                                  if pt is not None and not pt.is_empty]
    _Labels(labels, class_name=WARD_LABEL_CLASS, style=_WARD_STYLE, map_name=m.get_name(),
            priority=1).add_to(group)


def _legend_html(counts: pd.Series, colours: Mapping[str, str], taxonomy: Taxonomy, *, drawn: int,
                 total: int) -> str:
    rows = []
    for slug, n in counts.items():
        label = html.escape(taxonomy.categories[slug].label if slug in taxonomy.categories else str(slug))
        swatch = (f'<span style="display:inline-block;width:10px;height:10px;border-radius:50%;'
                  f'background:{colours.get(slug, "#444444")};margin-right:6px"></span>')
        rows.append(f"<div>{swatch}{label} ({n:,})</div>")
    if total == 0:
        rows = ["<div>No incidents to map for this selection.</div>"]
    note = ""
    if drawn < total:
        note = (f'<div style="margin-top:4px;font-weight:bold">Showing a random {drawn:,} of {total:,} '
                f"incidents; narrow the filters to see every point.</div>")
    return f'<div style="font-weight:bold;margin-bottom:3px">{INCIDENTS_LAYER}</div>{"".join(rows)}{note}'


def _name_field(gdf: gpd.GeoDataFrame) -> str | None:
    for col in ("name", "Name", "ward_name"):
        if col in gdf.columns:
            return col
    return None


def _to_wgs84(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        msg = f"{what} have no CRS; set it (EPSG:27700 for British National Grid) with set_crs()"
        raise CRSError(msg)
    return gdf.to_crs(WGS84)


def _text(value: object) -> str:
    """Tooltip text, HTML-escaped: Leaflet tooltips are HTML, and council exports are free text."""
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else html.escape(str(value))


def _escaped(gdf: gpd.GeoDataFrame, columns: list[str]) -> gpd.GeoDataFrame:
    out = gdf.copy()
    for col in columns:
        out[col] = [_text(v) for v in out[col]]
    return out


def _points_geojson(points: pd.DataFrame, taxonomy: Taxonomy) -> dict:
    labels = {s: c.label for s, c in taxonomy.categories.items()}
    months = points[MONTH] if MONTH in points.columns else pd.Series("", index=points.index)
    places = points[LOCATION_TEXT] if LOCATION_TEXT in points.columns else pd.Series("", index=points.index)
    ids = points["incident_id"] if "incident_id" in points.columns else pd.Series(range(len(points)),
                                                                                  index=points.index)
    features = [
        {"type": "Feature", "id": str(i),
         "geometry": {"type": "Point", "coordinates": [round(float(lon), 6), round(float(lat), 6)]},
         "properties": {"category": _text(labels.get(c, c)), "month": _text(mo), "location": _text(pl)}}
        for i, c, lon, lat, mo, pl in zip(ids, points[CATEGORY], points[LON], points[LAT], months, places,
                                          strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


def incidents_map(points: pd.DataFrame, wards: gpd.GeoDataFrame, *, ward_label: str = "Ward", selected_wards: Collection[str],
                  layers: Mapping[str, gpd.GeoDataFrame | None], static_url: str = STATIC_URL,
                  tiles_url: str | None = None, tiles_attribution: str | None = None,
                  max_points: int = MAX_POINTS, seed: int = 0, taxonomy: Taxonomy | None = None,
                  streets: pd.DataFrame | None = None) -> folium.Map:
    """Incident points over ward boundaries and optional area layers, with a layer control.

    Parameters
    ----------
    points
        Incidents as returned by ``spatial.store.queries.map_incidents``
        (``category``, ``lon``, ``lat``; ``month``, ``location_text`` and
        ``incident_id`` are used when present).  Sensitive rows are dropped.
    wards
        Ward polygons to outline (``ward_code``, ``ward_name``), any CRS.
    selected_wards
        Ward codes drawn bold; the map zooms to them (to every ward when empty).
    layers
        Extra polygon layers by display name (estates, parks); ``None`` values
        (a layer the council has not loaded) are skipped.
    static_url
        Root-relative URL of the app's ``static/`` folder (:func:`static_url_for`).
    tiles_url, tiles_attribution
        Optional XYZ tile server and its attribution; no tiles by default.
    max_points
        Most points drawn; above it a random sample (fixed ``seed``) is drawn
        and the legend says so.
    seed
        Seed of that sample.
    taxonomy
        Category labels and sensitivity (default: the bundled taxonomy).
    streets
        Street-name label points (``street, x, y``, EPSG:27700,
        :func:`tasking.streets.street_labels`), busiest first; ``None``: none.

    Returns
    -------
    folium.Map
        Layers "Ward boundaries", each given extra layer, "Incidents" (one
        GeoJSON sub-layer per category, as circle markers), "Ward names" and
        "Street names", and a scale.

    Raises
    ------
    SchemaError
        If ``points`` lacks ``category``/``lon``/``lat`` or ``wards`` lacks
        ``ward_code``/``ward_name``.
    CRSError
        If ``wards`` or a layer has no CRS.
    ValueError
        If ``max_points`` is below 1.
    """
    if max_points < 1:
        msg = f"max_points was {max_points} but must be at least 1"
        raise ValueError(msg)
    missing = [c for c in ("ward_code", "ward_name") if c not in wards.columns]
    if missing:
        msg = f"wards lack the columns {missing}; expected spatial.datasets.load_wards() output"
        raise SchemaError(msg)
    tax = taxonomy or load_taxonomy()
    safe = mappable_points(points, taxonomy=tax)
    total = len(safe)
    drawn = safe.sample(n=max_points, random_state=seed) if total > max_points else safe

    selected = set(selected_wards) or set(wards["ward_code"])
    keep_cols = ["ward_code", "ward_name", *[c for c in ("borough_name",) if c in wards.columns]]
    outline = wards[[*keep_cols, wards.geometry.name]]
    if outline.crs is not None and outline.crs.is_projected:  # ~2 m simplification: small HTML, same look
        outline = outline.set_geometry(outline.geometry.simplify(_WARD_SIMPLIFY_M, preserve_topology=True))
    wards_ll = _escaped(_to_wgs84(outline, "ward boundaries"), keep_cols[1:])
    focus = wards_ll[wards_ll["ward_code"].isin(selected)]
    if focus.empty:
        focus = wards_ll
    if focus.empty:
        west, south, east, north = -0.2135, 51.4775, -0.1506, 51.5302  # RBKC extent
    else:
        west, south, east, north = (float(v) for v in focus.total_bounds)

    m = offline_map(location=((south + north) / 2, (west + east) / 2), static_url=static_url,
                    tiles_url=tiles_url, tiles_attribution=tiles_attribution)

    ward_fields = ["ward_name", "borough_name"] if "borough_name" in wards_ll.columns else ["ward_name"]
    folium.GeoJson(
        wards_ll, name=WARDS_LAYER,
        style_function=lambda f: dict(_WARD_SELECTED if f["properties"]["ward_code"] in selected else _WARD_OTHER),
        tooltip=folium.GeoJsonTooltip(fields=ward_fields, aliases=[ward_label, "Borough"][:len(ward_fields)]),
    ).add_to(m)

    for i, (name, layer) in enumerate(layers.items()):
        if layer is None or layer.empty:
            continue
        colour = _LAYER_COLOURS[i % len(_LAYER_COLOURS)]
        field = _name_field(layer)
        keep = [c for c in (field,) if c] + [layer.geometry.name]
        folium.GeoJson(
            _escaped(_to_wgs84(layer[keep], f"the {name!r} layer"), keep[:-1]), name=name,
            style_function=lambda _f, c=colour: {"color": c, "weight": 1.5, "fillColor": c, "fillOpacity": 0.18},
            tooltip=folium.GeoJsonTooltip(fields=[field], aliases=[name]) if field else None,
        ).add_to(m)

    colours = category_colours(tax)
    group = folium.FeatureGroup(name=INCIDENTS_LAYER, show=True).add_to(m)
    counts = safe[CATEGORY].value_counts(sort=True)  # the legend counts every match, drawn or not
    for slug in counts.index:
        rows = drawn[drawn[CATEGORY] == slug]
        if rows.empty:
            continue
        colour = colours.get(slug, "#444444")
        folium.GeoJson(
            _points_geojson(rows, tax), control=False,
            marker=folium.CircleMarker(radius=4, weight=1, fill=True, fill_opacity=0.85),
            style_function=lambda _f, c=colour: {"color": "#FFFFFF", "weight": 0.8, "fillColor": c,
                                                 "fillOpacity": 0.85},
            tooltip=folium.GeoJsonTooltip(fields=["category", "month", "location"],
                                          aliases=["Category", "Month", "Location"]),
        ).add_to(group)

    _ward_names_group(m, wards)
    _street_group(m, streets)
    _MapNote(_legend_html(counts, colours, tax, drawn=len(drawn), total=total)).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    m.fit_bounds([[south, west], [north, east]])
    return m


# ----------------------------------------------------------------------------
# hotspots map
# ----------------------------------------------------------------------------
_GI_COLOURS: Final = {"hot 99": "#B2182B", "hot 95": "#EF8A62"}
_KDE_COLOUR: Final = "#6A3D9A"
_CLUSTER_COLOUR: Final = "#1F78B4"


def harm_classes(values: pd.Series, *, k: int = len(HARM_COLOURS)) -> tuple[pd.Series, list[float]]:
    """Quantile classes ``0..k-1`` of ``values`` and the class upper bounds; zero and missing values are class 0.

    Ties share a class (the bounds are unique quantiles of the positive values).

    Examples
    --------
    >>> cls, bounds = harm_classes(pd.Series([0.0, 1.0, 2.0, 3.0, 4.0, 100.0]), k=2)
    >>> cls.tolist(), bounds
    ([0, 0, 0, 0, 1, 1], [3.0, 100.0])
    """
    if k < 1:
        msg = f"k was {k}; give 1 or more classes"
        raise ValueError(msg)
    v = pd.to_numeric(values, errors="coerce").astype(float)
    pos = v[v > 0]
    if pos.empty:
        return pd.Series(0, index=values.index, dtype=int), []
    bounds = sorted({float(pos.quantile(q / k, interpolation="nearest")) for q in range(1, k + 1)})
    cls = pd.Series(0, index=values.index, dtype=int)
    for i, upper in enumerate(bounds[:-1]):
        cls[v > upper] = i + 1
    return cls, bounds


def _palette(n_classes: int) -> tuple[str, ...]:
    """The darkest ``n_classes`` choropleth colours (fewer distinct values than classes keep the dark end)."""
    return HARM_COLOURS[len(HARM_COLOURS) - n_classes:] if 0 < n_classes <= len(HARM_COLOURS) else HARM_COLOURS


def _swatch(colour: str, *, round_: bool = False, border: str = "1px solid #555") -> str:
    radius = "50%" if round_ else "2px"
    return (f'<span style="display:inline-block;width:11px;height:11px;border-radius:{radius};'
            f'background:{colour};border:{border};margin-right:6px;vertical-align:-1px"></span>')


def _fmt_num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 10 else f"{v:,.1f}"


def _hotspots_legend(bounds: list[float], counts: Mapping[str, int], *, harm_label: str) -> str:
    rows = [f'<div style="font-weight:bold;margin-bottom:2px">{html.escape(harm_label)}</div>']
    if bounds:
        lower = 0.0
        for colour, upper in zip(_palette(len(bounds)), bounds, strict=True):
            rows.append(f"<div>{_swatch(colour)}{_fmt_num(lower)} to {_fmt_num(upper)}</div>")
            lower = upper
    else:
        rows.append("<div>No harm recorded in this selection.</div>")
    rows.append('<div style="margin-top:4px">'
                f"<div>{_swatch(_GI_COLOURS['hot 99'], border='2px solid #000')}Gi* hot 99% "
                f"({counts.get('hot 99', 0)})</div>"
                f"<div>{_swatch(_GI_COLOURS['hot 95'], border='2px solid #000')}Gi* hot 95% "
                f"({counts.get('hot 95', 0)})</div>"
                f"<div>{_swatch(_KDE_COLOUR)}KDE hotspot cells ({counts.get('kde', 0)})</div>"
                f"<div>{_swatch(_CLUSTER_COLOUR)}DBSCAN clusters ({counts.get('dbscan', 0)})</div>"
                f"<div>{_swatch(EMERGING_COLOURS['intensifying hot spot'])}Emerging hot / "
                f"{_swatch(EMERGING_COLOURS['intensifying cold spot'])}cold cells ({counts.get('emerging', 0)})</div>"
                f"<div>{_swatch('#33A02C', round_=True)}Designing Out Crime advice ({counts.get('doc', 0)})</div>"
                "</div>")
    return "".join(rows)


def _doc_popup(place: Mapping[str, object], lines: pd.DataFrame, ward_name: str) -> str:
    head = (f"<b>{_text(place.get('place_name') or place.get('name'))}</b><br><small>{_text(place.get('place_type'))}, "
            f"{_text(ward_name)}; {_text(place.get('incidents'))} incidents"
            + (f"; {_text(place.get('patterns'))}" if place.get("patterns") else "") + "</small>")
    items = "".join(
        f"<li><b>{_text(r['measure'])}</b> <i>({_text(r['cpted_principle'])})</i><br>"
        f"<small>{_text(r['why'])}</small></li>" for _, r in lines.sort_values("rank").iterrows())
    return f'<div style="font:12px/1.4 sans-serif">{head}<ol style="padding-left:18px;margin:4px 0">{items}</ol>' \
           "<small>A prompt for a site survey with a Designing Out Crime Officer, not a specification.</small></div>"


def hotspots_map(wards: gpd.GeoDataFrame, *, ward_label: str = "Ward", gi_cells: gpd.GeoDataFrame, kde_cells: gpd.GeoDataFrame,
                 clusters: gpd.GeoDataFrame, places: gpd.GeoDataFrame, ranked: pd.DataFrame,
                 emerging: gpd.GeoDataFrame | None = None, estates: gpd.GeoDataFrame | None = None,
                 parks: gpd.GeoDataFrame | None = None, parks_label: str = "",
                 fixed_cctv: gpd.GeoDataFrame | None = None, deployable_cctv: gpd.GeoDataFrame | None = None,
                 harm_label: str = "Harm (CCHI), non-sensitive incidents", static_url: str = STATIC_URL,
                 tiles_url: str | None = None, tiles_attribution: str | None = None,
                 streets: pd.DataFrame | None = None) -> folium.Map:
    """Ward harm choropleth, Gi*, KDE and DBSCAN hotspots and Designing Out Crime markers, with a layer control.

    Parameters
    ----------
    wards
        Ward polygons with ``ward_code, ward_name, harm`` (and ``count``,
        ``harm_per_1000`` when present), any CRS.
    gi_cells
        Gi* cells to draw, with ``gi_class`` (``hot 99`` or ``hot 95``) and ``gi_z``.
    kde_cells
        KDE hotspot cells with ``density``.
    clusters
        DBSCAN cluster polygons with ``cluster_id``, ``n_incidents`` and ``top_categories``.
    places
        Advised places (``candidate_id, name, place_type, ward_code, incidents``), polygons.
    ranked
        Ranked measures (``candidate_id, rank, measure, cpted_principle, why``); the popup lists them.
    emerging
        Cells with an emerging-hotspot class (``cell_id, trend_class``), or None.
    estates, parks
        The estates (``estate_name``) and parks (``park_name``) polygons, or None when not loaded;
        ``parks_label`` says what the parks are (e.g. a DEMO reference layer) in their tooltip.
    fixed_cctv, deployable_cctv
        Camera points (``site_id, source, radius_m``); each is drawn as its coverage circle.
    harm_label
        Legend title of the choropleth.
    static_url, tiles_url, tiles_attribution, streets
        As :func:`incidents_map`.

    Returns
    -------
    folium.Map
        Overlays named :data:`HOTSPOT_LAYERS`, every one present (empty when
        the method found nothing or the layer is not loaded), then "Ward
        names" and "Street names", plus a legend and a scale.

    Raises
    ------
    SchemaError
        If ``wards`` lacks ``ward_code``, ``ward_name`` or ``harm``.
    CRSError
        If a layer has no CRS.
    """
    missing = [c for c in ("ward_code", "ward_name", "harm") if c not in wards.columns]
    if missing:
        msg = f"wards lack the columns {missing}; expected ui.analysis.hotspot_layers(...).wards"
        raise SchemaError(msg)
    outline = wards.copy()
    if outline.crs is not None and outline.crs.is_projected:
        outline = outline.set_geometry(outline.geometry.simplify(_WARD_SIMPLIFY_M, preserve_topology=True))
    cls, bounds = harm_classes(outline["harm"])
    palette = _palette(len(bounds))
    outline["_fill"] = [palette[min(int(c), len(palette) - 1)] if bounds else "#FFFFFF" for c in cls]
    outline["harm_text"] = [_fmt_num(float(v)) for v in outline["harm"]]
    per = outline["harm_per_1000"] if "harm_per_1000" in outline.columns else pd.Series(float("nan"), outline.index)
    outline["per_1000_text"] = ["not known" if pd.isna(v) else _fmt_num(float(v)) for v in per]
    outline["count_text"] = [f"{int(v):,}" for v in outline.get("count", pd.Series(0, outline.index)).fillna(0)]
    keep = ["ward_code", "ward_name", "harm_text", "per_1000_text", "count_text", "_fill"]
    wards_ll = _escaped(_to_wgs84(outline[[*keep, outline.geometry.name]], "ward boundaries"), ["ward_name"])
    if wards_ll.empty:
        west, south, east, north = -0.2135, 51.4775, -0.1506, 51.5302
    else:
        west, south, east, north = (float(v) for v in wards_ll.total_bounds)
    m = offline_map(location=((south + north) / 2, (west + east) / 2), static_url=static_url,
                    tiles_url=tiles_url, tiles_attribution=tiles_attribution)

    folium.GeoJson(
        wards_ll, name=WARD_HARM_LAYER,
        style_function=lambda f: {"color": "#555555", "weight": 1, "fillColor": f["properties"]["_fill"],
                                  "fillOpacity": 0.45},
        tooltip=folium.GeoJsonTooltip(fields=["ward_name", "harm_text", "per_1000_text", "count_text"],
                                      aliases=[ward_label, "Harm", "Harm per 1,000 residents", "Incidents"]),
    ).add_to(m)

    _area_group(estates, ESTATES_LAYER, "estate_name", "Estate", "#8C510A", "").add_to(m)
    _area_group(parks, PARKS_LAYER, "park_name", "Park", "#1B7837", parks_label).add_to(m)

    kde_group = folium.FeatureGroup(name=KDE_LAYER, show=True).add_to(m)
    if len(kde_cells):
        k = _to_wgs84(kde_cells[["cell_id", "density", kde_cells.geometry.name]], "KDE cells")
        k["density_text"] = [f"{float(v):,.0f} per km²" for v in k["density"]]
        k = _escaped(k.drop(columns="density"), ["cell_id"])
        folium.GeoJson(
            k, style_function=lambda _f: {"color": _KDE_COLOUR, "weight": 1.2, "fillColor": _KDE_COLOUR,
                                          "fillOpacity": 0.25},
            tooltip=folium.GeoJsonTooltip(fields=["cell_id", "density_text"], aliases=["KDE cell", "Density"]),
        ).add_to(kde_group)

    gi_group = folium.FeatureGroup(name=GI_LAYER, show=True).add_to(m)
    if len(gi_cells):
        g = _to_wgs84(gi_cells[["cell_id", "gi_class", "gi_z", gi_cells.geometry.name]], "Gi* cells")
        g["z_text"] = [f"{float(v):.2f}" for v in g["gi_z"]]
        g = _escaped(g.drop(columns="gi_z"), ["cell_id", "gi_class"])
        folium.GeoJson(
            g, style_function=lambda f: {"color": "#000000", "weight": 2,
                                         "fillColor": _GI_COLOURS.get(f["properties"]["gi_class"], "#B2182B"),
                                         "fillOpacity": 0.8},
            tooltip=folium.GeoJsonTooltip(fields=["cell_id", "gi_class", "z_text"],
                                          aliases=["Gi* cell", "Class", "z-score"]),
        ).add_to(gi_group)

    em_group = folium.FeatureGroup(name=EMERGING_LAYER, show=True).add_to(m)
    if emerging is not None and len(emerging):
        e = _to_wgs84(emerging[["cell_id", "trend_class", emerging.geometry.name]], "emerging-hotspot cells")
        e = _escaped(e, ["cell_id", "trend_class"])
        folium.GeoJson(
            e, style_function=lambda f: {"color": "#333333", "weight": 0.8, "dashArray": "2 2",
                                         "fillColor": EMERGING_COLOURS.get(f["properties"]["trend_class"], "#999999"),
                                         "fillOpacity": 0.55},
            tooltip=folium.GeoJsonTooltip(fields=["cell_id", "trend_class"], aliases=["Cell", "Emerging class"]),
        ).add_to(em_group)

    cl_group = folium.FeatureGroup(name=CLUSTERS_LAYER, show=True).add_to(m)
    if len(clusters):
        c = _to_wgs84(clusters[["cluster_id", "n_incidents", "top_categories", clusters.geometry.name]],
                      "DBSCAN clusters")
        c = _escaped(c.astype({"cluster_id": str, "n_incidents": str}), ["cluster_id", "n_incidents",
                                                                          "top_categories"])
        folium.GeoJson(
            c, style_function=lambda _f: {"color": _CLUSTER_COLOUR, "weight": 2, "dashArray": "5 3",
                                          "fillColor": _CLUSTER_COLOUR, "fillOpacity": 0.12},
            tooltip=folium.GeoJsonTooltip(fields=["cluster_id", "n_incidents", "top_categories"],
                                          aliases=["DBSCAN cluster", "Incidents", "Categories"]),
        ).add_to(cl_group)

    _camera_group(fixed_cctv, FIXED_CCTV_LAYER, "#00441B", "Fixed camera").add_to(m)
    _camera_group(deployable_cctv, DEPLOYABLE_CCTV_LAYER, "#CC4C02", "Deployable camera site").add_to(m)

    doc_group = folium.FeatureGroup(name=DOC_LAYER, show=True).add_to(m)
    names = dict(zip(wards["ward_code"], wards["ward_name"], strict=True))
    # a large area's hundreds of advised places would hide the map under their pins: they are grouped
    # into numbered clusters that open as one zooms in (a borough's few dozen stay single markers)
    target = doc_cluster(static_url).add_to(doc_group) if len(places) > DOC_CLUSTER_ABOVE else doc_group
    if len(places):
        reps = _to_wgs84(places.set_geometry(places.geometry.representative_point()), "advised places")
        for (_, p), pt in zip(places.iterrows(), reps.geometry, strict=True):
            lines = ranked[ranked["candidate_id"] == p["candidate_id"]]
            folium.Marker(
                location=[round(pt.y, 6), round(pt.x, 6)],
                icon=folium.Icon(color="green", icon="lightbulb", prefix="fa"),
                tooltip=_text(p.get("place_name") or p.get("name")),
                popup=folium.Popup(_doc_popup(p, lines, names.get(p.get("ward_code"), str(p.get("ward_code")))),
                                   max_width=360),
            ).add_to(target)

    counts = {"hot 99": int((gi_cells["gi_class"] == "hot 99").sum()) if len(gi_cells) else 0,
              "hot 95": int((gi_cells["gi_class"] == "hot 95").sum()) if len(gi_cells) else 0,
              "kde": len(kde_cells), "dbscan": len(clusters), "doc": len(places),
              "emerging": 0 if emerging is None else len(emerging)}
    _ward_names_group(m, wards)
    _street_group(m, streets)
    _MapNote(_hotspots_legend(bounds, counts, harm_label=harm_label), position="bottomleft").add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    m.fit_bounds([[south, west], [north, east]])
    return m


def _area_group(areas: gpd.GeoDataFrame | None, name: str, name_col: str, alias: str, colour: str,
                note: str) -> folium.FeatureGroup:
    """A polygon overlay of estates or parks (empty when the layer is not loaded)."""
    group = folium.FeatureGroup(name=name, show=True)
    if areas is None or len(areas) == 0:
        return group
    col = name_col if name_col in areas.columns else (_name_field(areas) or None)
    a = areas.copy()
    a["_name"] = a[col].astype(str) if col else ""
    a["_note"] = note
    a = _escaped(_to_wgs84(a[["_name", "_note", a.geometry.name]], name), ["_name", "_note"])
    folium.GeoJson(
        a, style_function=lambda _f, c=colour: {"color": c, "weight": 1.5, "fillColor": c, "fillOpacity": 0.15},
        tooltip=folium.GeoJsonTooltip(fields=["_name", "_note"] if note else ["_name"],
                                      aliases=[alias, "Layer"] if note else [alias]),
    ).add_to(group)
    return group


def _camera_group(cams: gpd.GeoDataFrame | None, name: str, colour: str, alias: str) -> folium.FeatureGroup:
    """Camera coverage circles (radius in metres) with a dot at each camera (empty when none are known)."""
    group = folium.FeatureGroup(name=name, show=True)
    if cams is None or len(cams) == 0:
        return group
    ll = _to_wgs84(cams, name)
    for (_, c), pt in zip(cams.iterrows(), ll.geometry, strict=True):
        tip = f"{alias} {_text(c['site_id'])} ({_text(c.get('source'))}); coverage {float(c['radius_m']):.0f} m"
        folium.Circle(location=[round(pt.y, 6), round(pt.x, 6)], radius=float(c["radius_m"]), color=colour,
                      weight=1.5, fill=True, fill_opacity=0.12, tooltip=tip).add_to(group)
    return group


# ----------------------------------------------------------------------------
# one patroller's places
# ----------------------------------------------------------------------------
def patrol_map(places: pd.DataFrame, wards: gpd.GeoDataFrame, *, ward_label: str = "Ward", static_url: str = STATIC_URL,
               tiles_url: str | None = None, tiles_attribution: str | None = None,
               label_top: int = 0, streets: pd.DataFrame | None = None, label_rank: bool = True) -> folium.Map:
    """A small map of one patroller's (or the whole plan's) places over the ward outlines.

    ``places`` has ``candidate_id, name, x, y, visits`` (British National Grid;
    ``ui.planning.agent_places`` or ``ui.planning.plan_places``); only these
    places are drawn.  The first ``label_top`` places carry their rank and short
    name ("1. Elm Road / Ash Street"; without the rank when ``label_rank`` is false) as a
    label that stays on the map, hidden where it would overlap one before it; every place's full name and visits
    are on hover.  The map frames the
    places (the whole borough when there are none).

    Raises
    ------
    SchemaError
        If ``places`` lacks ``x``, ``y`` or ``name``.
    """
    missing = [c for c in ("x", "y", "name") if c not in places.columns]
    if missing:
        msg = f"places lack the columns {missing}; expected ui.planning.agent_places() output"
        raise SchemaError(msg)
    outline = wards[["ward_name", wards.geometry.name]]
    if outline.crs is not None and outline.crs.is_projected:
        outline = outline.set_geometry(outline.geometry.simplify(_WARD_SIMPLIFY_M * 5, preserve_topology=True))
    wards_ll = _escaped(_to_wgs84(outline, "ward boundaries"), ["ward_name"])
    pts = gpd.GeoDataFrame(places.copy(), geometry=gpd.points_from_xy(places["x"], places["y"]), crs="EPSG:27700")
    pts = pts.to_crs(WGS84)
    if len(pts):
        west, south, east, north = (float(v) for v in pts.total_bounds)
        pad = 0.004
        west, south, east, north = west - pad, south - pad, east + pad, north + pad
    elif len(wards_ll):
        west, south, east, north = (float(v) for v in wards_ll.total_bounds)
    else:
        west, south, east, north = -0.2135, 51.4775, -0.1506, 51.5302
    m = offline_map(location=((south + north) / 2, (west + east) / 2), zoom_start=15, static_url=static_url,
                    tiles_url=tiles_url, tiles_attribution=tiles_attribution)
    folium.GeoJson(wards_ll, name=WARDS_LAYER,
                   style_function=lambda _f: {"color": "#6B6B6B", "weight": 1, "fillOpacity": 0.0},
                   tooltip=folium.GeoJsonTooltip(fields=["ward_name"], aliases=[ward_label])).add_to(m)
    group = folium.FeatureGroup(name=PLACES_LAYER, show=True).add_to(m)
    names: list[list[object]] = []
    for k, (_, p) in enumerate(pts.iterrows()):
        visits = p.get("visits")
        label = f"{_text(p['name'])}" + (f" ({int(visits)} visits this week)" if pd.notna(visits) else "")
        at = [round(p.geometry.y, 6), round(p.geometry.x, 6)]
        folium.CircleMarker(location=at, radius=9, weight=2, color="#FFFFFF", fill=True, fill_color="#08519C",
                            fill_opacity=0.9, tooltip=folium.Tooltip(label)).add_to(group)
        if k < label_top:  # the first places named on the map (short, without the ward), never over each other
            rank = f"{k + 1}. " if label_rank else ""
            names.append([*at, f"{rank}{_text(short_name(str(p['name'])))}", False])
    _ward_names_group(m, wards)
    _street_group(m, streets)
    if names:
        _Labels(names, class_name=PLACE_LABEL_CLASS, style=_PLACE_STYLE, map_name=m.get_name(),
                priority=0).add_to(group)
    folium.LayerControl(collapsed=True).add_to(m)
    m.fit_bounds([[south, west], [north, east]])
    return m


# ----------------------------------------------------------------------------
# review of a finished week: tasked places, buffer ring and control
# ----------------------------------------------------------------------------
#: Layer names of the review map (the WDQ's zones R, D and C, and the tasked places).
REVIEW_TASKED_LAYER: Final = "Tasked places (R)"
REVIEW_BUFFER_LAYER: Final = "Buffer ring (D)"
REVIEW_CONTROL_LAYER: Final = "Control: rest of the borough (C)"
REVIEW_LAYERS: Final = (REVIEW_CONTROL_LAYER, REVIEW_BUFFER_LAYER, REVIEW_TASKED_LAYER)
_ZONE_STYLE: Final = {"R": ("#D7301F", 0.45), "D": ("#FDAE61", 0.35), "C": ("#74ADD1", 0.12)}


def _polygons(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Only the polygon parts (an intersection can leave lines and points in a GeometryCollection)."""
    parts = gdf.explode(index_parts=False)
    return parts[parts.geom_type.isin(["Polygon", "MultiPolygon"]) & ~parts.is_empty]


def _ward_outline_map(wards: gpd.GeoDataFrame, *, ward_label: str = "Ward", static_url: str, tiles_url: str | None,
                      tiles_attribution: str | None) -> tuple[folium.Map, list[list[float]]]:
    """An offline map centred on ``wards`` with their simplified grey outlines, and the bounds to fit at the end
    (the Review and CCTV maps' base)."""
    outline = wards[["ward_name", wards.geometry.name]]
    if outline.crs is not None and outline.crs.is_projected:
        outline = outline.set_geometry(outline.geometry.simplify(_WARD_SIMPLIFY_M, preserve_topology=True))
    wards_ll = _escaped(_to_wgs84(outline, "ward boundaries"), ["ward_name"])
    west, south, east, north = ((float(v) for v in wards_ll.total_bounds) if len(wards_ll)
                                else (-0.2135, 51.4775, -0.1506, 51.5302))
    m = offline_map(location=((south + north) / 2, (west + east) / 2), static_url=static_url,
                    tiles_url=tiles_url, tiles_attribution=tiles_attribution)
    folium.GeoJson(wards_ll, name=WARDS_LAYER,
                   style_function=lambda _f: {"color": "#6B6B6B", "weight": 1, "fillOpacity": 0.0},
                   tooltip=folium.GeoJsonTooltip(fields=["ward_name"], aliases=[ward_label])).add_to(m)
    return m, [[south, west], [north, east]]


def review_map(zones: gpd.GeoDataFrame, places: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, *, ward_label: str = "Ward",
               buffer_m: float, static_url: str = STATIC_URL, tiles_url: str | None = None,
               tiles_attribution: str | None = None, streets: pd.DataFrame | None = None) -> folium.Map:
    """The WDQ's zones (control C, buffer ring D, tasked area R) and the tasked places over the ward outlines.

    ``zones`` is ``tasking.review.displacement_areas`` output (``zone`` R, D, C);
    ``places`` the tasked places (``candidate_id, name, place_type``), polygons.
    No incident is drawn; ward names and ``streets`` (:func:`incidents_map`)
    are labelled.

    Raises
    ------
    SchemaError
        If ``zones`` lacks the ``zone`` column.
    """
    if "zone" not in zones.columns:
        msg = (f"zones lack the 'zone' column; expected tasking.review.displacement_areas() output "
               f"({list(zones.columns)})")
        raise SchemaError(msg)
    m, bounds = _ward_outline_map(wards, ward_label=ward_label, static_url=static_url, tiles_url=tiles_url,
                                  tiles_attribution=tiles_attribution)
    z = _polygons(_to_wgs84(zones[["zone", zones.geometry.name]], "review zones"))
    labels = {"R": REVIEW_TASKED_LAYER, "D": REVIEW_BUFFER_LAYER, "C": REVIEW_CONTROL_LAYER}
    for code in ("C", "D"):
        colour, opacity = _ZONE_STYLE[code]
        part = z[z["zone"] == code]
        group = folium.FeatureGroup(name=labels[code], show=True).add_to(m)
        if len(part) and not part.geometry.iloc[0].is_empty:
            folium.GeoJson(part, style_function=lambda _f, c=colour, o=opacity: {
                "color": c, "weight": 1, "fillColor": c, "fillOpacity": o},
                tooltip=labels[code]).add_to(group)
    colour, opacity = _ZONE_STYLE["R"]
    group = folium.FeatureGroup(name=REVIEW_TASKED_LAYER, show=True).add_to(m)
    if len(places):
        keep = [c for c in ("candidate_id", "name", "place_type") if c in places.columns]
        p = _escaped(_polygons(_to_wgs84(places[[*keep, places.geometry.name]], "tasked places")), keep)
        folium.GeoJson(p, style_function=lambda _f: {"color": colour, "weight": 1.5, "fillColor": colour,
                                                     "fillOpacity": opacity},
                       tooltip=folium.GeoJsonTooltip(fields=keep, aliases=["Place", "Name", "Type"][:len(keep)]),
                       ).add_to(group)
    legend = (f'<div style="font-weight:bold;margin-bottom:2px">Displacement check</div>'
              f"<div>{_swatch(_ZONE_STYLE['R'][0])}Tasked places (R)</div>"
              f"<div>{_swatch(_ZONE_STYLE['D'][0])}Buffer ring 0-{buffer_m:g} m (D)</div>"
              f"<div>{_swatch(_ZONE_STYLE['C'][0])}Control: rest of the borough (C)</div>")
    _ward_names_group(m, wards)
    _street_group(m, streets)
    _MapNote(legend, position="bottomleft").add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    m.fit_bounds(bounds)
    return m


# ----------------------------------------------------------------------------
# CCTV planning: camera coverage and candidate sites
# ----------------------------------------------------------------------------
#: Layer names of the CCTV map.
CCTV_FIXED_LAYER: Final = "Fixed CCTV coverage"
CCTV_DEPLOYED_LAYER: Final = "Deployable cameras in place"
CCTV_SITES_LAYER: Final = "Candidate sites (by uncovered harm)"
CCTV_WHATIF_LAYER: Final = "What-if cameras"
CCTV_LAYERS: Final = (CCTV_FIXED_LAYER, CCTV_DEPLOYED_LAYER, CCTV_SITES_LAYER, CCTV_WHATIF_LAYER)
_CCTV_COLOURS: Final = {"fixed": "#4D4D4D", "deployed": "#2166AC", "site": "#D6604D", "whatif": "#1B7837"}


def _bng_points(df: pd.DataFrame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(df.reset_index(drop=True), geometry=gpd.points_from_xy(df["x"], df["y"]),
                            crs="EPSG:27700").to_crs(WGS84)


def cctv_map(wards: gpd.GeoDataFrame, *, ward_label: str = "Ward", fixed: pd.DataFrame, deployed: pd.DataFrame, sites: pd.DataFrame,
             whatif: pd.DataFrame, radius_m: float, fixed_radius_m: float, static_url: str = STATIC_URL,
             tiles_url: str | None = None, tiles_attribution: str | None = None,
             streets: pd.DataFrame | None = None) -> folium.Map:
    """Fixed and deployable camera coverage circles, ranked candidate sites and what-if cameras, with a layer control.

    Every frame has ``x, y`` (EPSG:27700) and an id column (``site_id`` or
    ``camera_id``); ``sites`` also ``rank, uncovered_harm, source``.  All four
    layers are always present (empty when there is nothing to draw).  No
    incident is drawn; ward names and ``streets`` (:func:`incidents_map`) are
    labelled.

    Raises
    ------
    SchemaError
        If a frame lacks ``x`` or ``y``.
    """
    for name, df in (("fixed", fixed), ("deployed", deployed), ("sites", sites), ("whatif", whatif)):
        missing = [c for c in ("x", "y") if c not in df.columns]
        if missing:
            msg = f"{name} lacks the columns {missing}; give British National Grid x and y"
            raise SchemaError(msg)
    m, bounds = _ward_outline_map(wards, ward_label=ward_label, static_url=static_url, tiles_url=tiles_url,
                                  tiles_attribution=tiles_attribution)

    def circles(df: pd.DataFrame, layer: str, colour: str, radius: float, label) -> None:
        group = folium.FeatureGroup(name=layer, show=True).add_to(m)
        if len(df) == 0:
            return
        for (_, r), pt in zip(df.reset_index(drop=True).iterrows(), _bng_points(df).geometry, strict=True):
            folium.Circle(location=[round(pt.y, 6), round(pt.x, 6)], radius=float(radius), color=colour, weight=2,
                          fill=True, fill_color=colour, fill_opacity=0.18, tooltip=_text(label(r))).add_to(group)

    circles(fixed, CCTV_FIXED_LAYER, _CCTV_COLOURS["fixed"], fixed_radius_m, lambda r: f"Fixed camera {r['site_id']}")
    circles(deployed, CCTV_DEPLOYED_LAYER, _CCTV_COLOURS["deployed"], radius_m,
            lambda r: f"Deployable camera {r['camera_id']} at {r['site_id']}")
    group = folium.FeatureGroup(name=CCTV_SITES_LAYER, show=True).add_to(m)
    if len(sites):
        for (_, r), pt in zip(sites.reset_index(drop=True).iterrows(), _bng_points(sites).geometry, strict=True):
            folium.CircleMarker(location=[round(pt.y, 6), round(pt.x, 6)], radius=6, weight=1.5, color="#FFFFFF",
                                fill=True, fill_color=_CCTV_COLOURS["site"], fill_opacity=0.95,
                                tooltip=_text(f"#{int(r['rank'])} {r.get('where') or r['site_id']}: "
                                              f"{float(r['uncovered_harm']):.1f} uncovered harm/week "
                                              f"({r['source']})")).add_to(group)
    circles(whatif, CCTV_WHATIF_LAYER, _CCTV_COLOURS["whatif"], radius_m, lambda r: f"What-if camera {r['site_id']}")
    legend = (f'<div style="font-weight:bold;margin-bottom:2px">CCTV</div>'
              f"<div>{_swatch(_CCTV_COLOURS['fixed'], round_=True)}Fixed camera, {fixed_radius_m:g} m "
              f"({len(fixed)})</div>"
              f"<div>{_swatch(_CCTV_COLOURS['deployed'], round_=True)}Deployable in place, {radius_m:g} m "
              f"({len(deployed)})</div>"
              f"<div>{_swatch(_CCTV_COLOURS['site'], round_=True)}Candidate site ({len(sites)})</div>"
              f"<div>{_swatch(_CCTV_COLOURS['whatif'], round_=True)}What-if camera ({len(whatif)})</div>")
    _ward_names_group(m, wards)
    _street_group(m, streets)
    _MapNote(legend, position="bottomleft").add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    m.fit_bounds(bounds)
    return m
