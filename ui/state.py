"""Session-state keys of the dashboard, declared once.

Every widget that keeps a selection uses one of these keys, so tests and pages
never spell a key twice.  Session state holds selections only, never data.
The helpers take the session mapping as an argument, so they are tested
without Streamlit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping, MutableMapping, Sequence
from typing import Any, Final

__all__ = [
    "WARDS", "MONTH", "CATEGORIES", "NEIGHBOURS", "TODAY", "USER", "USER_INPUT", "TASKING_WEEK",
    "TASKING_WEEK_INPUT", "TASKING_SHOW", "TASKING_PINS", "TASKING_EXCLUSIONS", "BUILD_BUTTON", "PIN_AGENT",
    "PIN_CANDIDATE", "PIN_DAY", "PIN_SHIFT", "PIN_VISITS", "PIN_SUBMIT", "EXCLUDE_CANDIDATE", "EXCLUDE_SUBMIT",
    "UNPIN_PREFIX", "UNEXCLUDE_PREFIX", "TASKING_AGENT_FILTER", "APPROVE_BUTTON", "TASKING_BASE", "LOAD_LATEST_BUTTON", "DECISION_ACTION",
    "DECISION_OWNER", "DECISION_DUE", "DECISION_CANDIDATE", "DECISION_SUBMIT", "DOWNLOAD_PREFIX", "HOTSPOTS_PERIOD",
    "HOTSPOTS_GROUPS", "HOTSPOTS_METHOD", "HOTSPOTS_MAP", "PATROL_MAP", "PATROL_AGENT", "PATROL_AGENT_INPUT",
    "PATROL_WEEK",
    "PATROL_ASSIGNMENT", "PATROL_VISITS", "PATROL_MINUTES", "PATROL_NOTE", "PATROL_SUBMIT",
    "REVIEW_WEEK", "REVIEW_BEFORE", "REVIEW_AFTER", "REVIEW_MAP", "REVIEW_NOTE_SECTION", "REVIEW_NOTE_TEXT",
    "REVIEW_NOTE_SUBMIT", "REVIEW_MARK_BUTTON", "REVIEW_DECISION", "REVIEW_DECISIONS_SEEN",
    "REVIEW_DECISION_STATUS",
    "REVIEW_DECISION_OUTCOME", "REVIEW_DECISION_SUBMIT",
    "CCTV_DEPLOYED_FILE", "CCTV_WHATIF_SITES", "CCTV_WHATIF_X", "CCTV_WHATIF_Y", "CCTV_WHATIF_ADD",
    "CCTV_WHATIF_CLEAR", "CCTV_EXTRA_SITES", "CCTV_WEEK", "CCTV_MAP",
    "DATA_UPLOAD", "DATA_INGEST_BUTTON", "DATA_QUARANTINE_FILE", "DATA_QUARANTINE_TEXT", "DATA_BACKTEST_BUTTON",
    "DATA_BACKTEST_SHOW", "ALL_KEYS",
    "OVERVIEW_SOURCE", "OVERVIEW_PERIOD", "OVERVIEW_GROUP", "OVERVIEW_WARD", "HOTSPOTS_BOROUGH", "HOTSPOTS_WARDS",
    "HOTSPOTS_PLACE", "HOTSPOTS_GIS_LAYER", "SCHEMES_SORT",
    "IDENTITY", "SIGNIN_NAME", "SIGNIN_PASSWORD", "SIGNIN_SUBMIT", "SIGN_OUT_BUTTON", "SSO_BUTTON", "SSO_REFUSED",
    "JUST_SIGNED_IN", "SESSION_TOKEN", "COOKIE_CLEAR", "SESSION_ENDED", "TASKING_OPENED_APPROVED",
    "TASKING_PRESENCE", "TASKING_MAP", "PATROL_DONE_PREFIX",
    "VIEW_PAGE", "VIEW_AUDITED", "AREA", "AREA_INPUT", "RUN_VIEWER",
    "default_month", "keep_valid", "keep_range", "today", "restore",
]

#: Ward codes picked in the ward multiselect (empty = every ward shown).
WARDS: Final = "incidents.wards"
#: Month ("YYYY-MM") picked in the month select.
MONTH: Final = "incidents.month"
#: Category slugs picked in the category multiselect (empty = every mappable category).
CATEGORIES: Final = "incidents.categories"
#: Whether the neighbouring demo boroughs (Westminster, Hammersmith & Fulham) are offered.
NEIGHBOURS: Final = "incidents.neighbours"

# Widget state is dropped when a page that does not draw the widget runs, so values that must
# survive a change of page (the user's name, the agent id, the week, the pins) live in plain keys;
# the widget has its own ``*_INPUT`` key, filled from the plain key by :func:`restore`.

# ---------------------------------------------------------------- shared by every page
#: "Today" as a :class:`datetime.date` (or ISO text); unset = the real date.  Tests and demos set it
#: so the default weeks are reproducible (:func:`today`).
TODAY: Final = "app.today"
#: Name of the person using the dashboard before issue 6 (kept so old sessions do not break; unused: the
#: name recorded on approvals, decisions, logs and exports is the signed-in account's, :data:`IDENTITY`).
USER: Final = "app.user"
#: The former "Your name" text input (unused since the sign-in).
USER_INPUT: Final = "app.user.input"

# ---------------------------------------------------------------- sign-in (issue 6)
#: The signed-in identity: ``{"user": account name, "method": "password" | "oidc"}``.  The role and agent id
#: are read again from the account on every run (a changed role or a disabled account takes effect at once).
IDENTITY: Final = "app.identity"
#: Sign-in form widgets: user name, password (cleared on submit), submit button.
SIGNIN_NAME: Final = "app.signin.name"
SIGNIN_PASSWORD: Final = "app.signin.password"
SIGNIN_SUBMIT: Final = "app.signin.submit"
#: The sidebar's "Sign out" button.
SIGN_OUT_BUTTON: Final = "app.signout"
#: The "Sign in with single sign-on" button (only when ``[auth]`` is configured).
SSO_BUTTON: Final = "app.sso"
#: The single sign-on email that matched no account (its refusal is audited once).
SSO_REFUSED: Final = "app.sso.refused"
#: Set by a sign-in, read once by ``app.py``: a sign-in at the front page lands on the role's own first page.
JUST_SIGNED_IN: Final = "app.signin.just"
#: The token of this sign-in's server-side session (its signed form is the browser's session cookie).
SESSION_TOKEN: Final = "app.session.token"
#: Ask the next run to delete the session cookie (after a sign-out or an ended session).
COOKIE_CLEAR: Final = "app.session.clear"
#: The session was ended by a time-out or an account change: the sign-in screen says so once.
SESSION_ENDED: Final = "app.session.ended"
#: The page of the current page view, and whether its view of sensitive aggregates was audited.
VIEW_PAGE: Final = "app.view.page"
VIEW_AUDITED: Final = "app.view.audited"
#: The area every page shows (its name; remembered in the session), and the sidebar picker's widget key.
AREA: Final = "app.area"
AREA_INPUT: Final = "app.area.input"
#: The viewer read by app.py once per run (``ui.signin.current_viewer``), passed to the page it runs.
RUN_VIEWER: Final = "app.run.viewer"

# ---------------------------------------------------------------- Tasking page
#: ISO week ("YYYY-Www") being planned, and its select box.
TASKING_WEEK: Final = "tasking.week"
TASKING_WEEK_INPUT: Final = "tasking.week.input"
#: Whether the chair asked for the plan (the "Build plan" button); the plan is then kept up to date.
TASKING_SHOW: Final = "tasking.show"
#: The chair's pins: list of ``(agent_id, candidate_id, day 0-6, shift, visits)`` tuples.
TASKING_PINS: Final = "tasking.pins"
#: The chair's exclusions: list of candidate ids left out of the week.
TASKING_EXCLUSIONS: Final = "tasking.exclusions"
#: The "Build plan" button.
BUILD_BUTTON: Final = "tasking.build"
#: Pin form widgets and its submit button.
PIN_AGENT: Final = "tasking.pin.agent"
PIN_CANDIDATE: Final = "tasking.pin.candidate"
PIN_DAY: Final = "tasking.pin.day"
PIN_SHIFT: Final = "tasking.pin.shift"
PIN_VISITS: Final = "tasking.pin.visits"
PIN_SUBMIT: Final = "tasking.pin.submit"
#: Exclusion form widget and its submit button.
EXCLUDE_CANDIDATE: Final = "tasking.exclude.candidate"
EXCLUDE_SUBMIT: Final = "tasking.exclude.submit"
#: Prefixes of the "Remove" buttons of pin ``i`` and exclusion ``i`` (key = prefix + str(i)).
UNPIN_PREFIX: Final = "tasking.unpin."
UNEXCLUDE_PREFIX: Final = "tasking.unexclude."
#: Agents shown in the assignments table (empty = all).
TASKING_AGENT_FILTER: Final = "tasking.agent_filter"
#: The newest stored plan version when this user opened the week (0: none): the base of their edits.
TASKING_BASE: Final = "tasking.base_version"
#: The approved version whose pins and exclusions the week was opened with (an approved week reopens on it).
TASKING_OPENED_APPROVED: Final = "tasking.opened_approved"
#: Button after an edit conflict: carry on from the newest stored version.
LOAD_LATEST_BUTTON: Final = "tasking.load_latest"
#: The "Approve" button.
APPROVE_BUTTON: Final = "tasking.approve"
#: Whether the plan keeps the roster's ward presence rule (the chair may relax it for one solve).
TASKING_PRESENCE: Final = "tasking.presence"
#: Decision form widgets and its submit button.
DECISION_ACTION: Final = "tasking.decision.action"
DECISION_OWNER: Final = "tasking.decision.owner"
DECISION_DUE: Final = "tasking.decision.due"
DECISION_CANDIDATE: Final = "tasking.decision.candidate"
DECISION_SUBMIT: Final = "tasking.decision.submit"
#: Prefix of the download buttons (key = prefix + "html", "csv", "geojson" or "pdf").
DOWNLOAD_PREFIX: Final = "tasking.download."

# ---------------------------------------------------------------- Hotspots page
#: ``(first month, last month)`` of the period analysed.
HOTSPOTS_PERIOD: Final = "hotspots.period"
#: Category groups picked (empty = every non-sensitive group).
HOTSPOTS_GROUPS: Final = "hotspots.groups"
#: Hotspot method whose places get Designing Out Crime advice ("kde", "gistar" or "dbscan").
HOTSPOTS_METHOD: Final = "hotspots.method"
#: The hotspots map component (returns nothing: no rerun on map clicks).
HOTSPOTS_MAP: Final = "hotspots.map"

# ---------------------------------------------------------------- My patrols page
#: The agent id of the warden or parks police officer using the page (issue 6: from the login),
#: and its select box.
PATROL_AGENT: Final = "patrols.agent"
PATROL_AGENT_INPUT: Final = "patrols.agent.input"
#: ISO week whose approved plan is shown.
PATROL_WEEK: Final = "patrols.week"
#: Log form widgets: the assignment (index in the agent's list), visits done, minutes, note; submit.
PATROL_ASSIGNMENT: Final = "patrols.log.assignment"
PATROL_VISITS: Final = "patrols.log.visits"
PATROL_MINUTES: Final = "patrols.log.minutes"
PATROL_NOTE: Final = "patrols.log.note"
PATROL_SUBMIT: Final = "patrols.log.submit"
#: The patroller's map component.
PATROL_MAP: Final = "patrols.map"
#: Prefix of the "Done as planned" buttons of My patrols (key = prefix + date.shift.candidate_id).
PATROL_DONE_PREFIX: Final = "patrols.done."
#: The Tasking page's map of the plan.
TASKING_MAP: Final = "tasking.map"

# ---------------------------------------------------------------- Review page
#: ISO week reviewed (a past week with an approved plan).
REVIEW_WEEK: Final = "review.week"
#: Months of the "before" period (list of "YYYY-MM") and the "after" period (list of months, or ["week"]).
REVIEW_BEFORE: Final = "review.before"
REVIEW_AFTER: Final = "review.after"
#: The review map component.
REVIEW_MAP: Final = "review.map"
#: Review note form: section, text, submit; the "mark reviewed" button.
REVIEW_NOTE_SECTION: Final = "review.note.section"
REVIEW_NOTE_TEXT: Final = "review.note.text"
REVIEW_NOTE_SUBMIT: Final = "review.note.submit"
REVIEW_MARK_BUTTON: Final = "review.mark"
#: Decision status form: the decision, its new status, the outcome text, submit.
REVIEW_DECISION: Final = "review.decision"
#: ``{decision_id: updated_at}`` of the decisions as last shown (optimistic locking of updates).
REVIEW_DECISIONS_SEEN: Final = "review.decisions_seen"
REVIEW_DECISION_STATUS: Final = "review.decision.status"
REVIEW_DECISION_OUTCOME: Final = "review.decision.outcome"
REVIEW_DECISION_SUBMIT: Final = "review.decision.submit"

# ---------------------------------------------------------------- CCTV planning page
#: Uploaded CSV of the deployable cameras in place (camera_id, site_id, since_week[, x, y]).
CCTV_DEPLOYED_FILE: Final = "cctv.deployed_file"
#: Site ids ticked in the what-if.
CCTV_WHATIF_SITES: Final = "cctv.whatif.sites"
#: Coordinates typed for a what-if camera (EPSG:27700 metres) and the add / clear buttons.
CCTV_WHATIF_X: Final = "cctv.whatif.x"
CCTV_WHATIF_Y: Final = "cctv.whatif.y"
CCTV_WHATIF_ADD: Final = "cctv.whatif.add"
CCTV_WHATIF_CLEAR: Final = "cctv.whatif.clear"
#: What-if cameras placed by coordinates: list of ``(site_id, x, y)``.
CCTV_EXTRA_SITES: Final = "cctv.extra_sites"
#: ISO week the redeploy list is for (minimum terms are counted to it).
CCTV_WEEK: Final = "cctv.week"
#: The CCTV map component.
CCTV_MAP: Final = "cctv.map"

# ---------------------------------------------------------------- Data page
#: The file uploader, the ingest button.
DATA_UPLOAD: Final = "data.upload"
DATA_INGEST_BUTTON: Final = "data.ingest"
#: Quarantine filters: file, text in field or reason.
DATA_QUARANTINE_FILE: Final = "data.quarantine.file"
DATA_QUARANTINE_TEXT: Final = "data.quarantine.text"
#: The "Run the backtest" button, and whether it was pressed (the results then stay on the page).
DATA_BACKTEST_BUTTON: Final = "data.backtest"
DATA_BACKTEST_SHOW: Final = "data.backtest.show"
# ---------------------------------------------------------------- Overview page
#: Where the counts come from: ``"mps"`` (MPS monthly ward series) or ``"incidents"`` (the stored incidents).
OVERVIEW_SOURCE: Final = "overview.source"
#: ``(first month, last month)`` of the period compared with the previous period and last year.
OVERVIEW_PERIOD: Final = "overview.period"
#: Category group of the long-run trend chart (``ui.overview.ALL_GROUPS`` for every group).
OVERVIEW_GROUP: Final = "overview.group"
#: Ward code of the long-run trend charts (``ui.overview.BOROUGH`` for the whole borough).
OVERVIEW_WARD: Final = "overview.ward"

# ---------------------------------------------------------------- Hotspots page (issue 5 additions)
#: Borough analysed (GSS code); default the roster's borough.
HOTSPOTS_BOROUGH: Final = "hotspots.borough"
#: Ward codes the map and the hot places are limited to (empty = every ward).
HOTSPOTS_WARDS: Final = "hotspots.wards"
#: Candidate id of the hot place shown in the hotspot panel.
HOTSPOTS_PLACE: Final = "hotspots.place"
#: The hotspot result offered as a GeoPackage download (``ui.analysis.GIS_DOWNLOADS`` key).
HOTSPOTS_GIS_LAYER: Final = "hotspots.gis_layer"

# ---------------------------------------------------------------- Schemes page
#: The schemes league's order: ``"rate"``, ``"harm"`` or ``"count"``.
SCHEMES_SORT: Final = "schemes.sort"

ALL_KEYS: Final = (
    WARDS, MONTH, CATEGORIES, NEIGHBOURS, TODAY, USER, USER_INPUT, TASKING_WEEK, TASKING_WEEK_INPUT, TASKING_SHOW,
    TASKING_PINS, TASKING_EXCLUSIONS, BUILD_BUTTON, PIN_AGENT, PIN_CANDIDATE, PIN_DAY, PIN_SHIFT, PIN_VISITS,
    PIN_SUBMIT, EXCLUDE_CANDIDATE, EXCLUDE_SUBMIT, TASKING_AGENT_FILTER, APPROVE_BUTTON, TASKING_BASE,
    LOAD_LATEST_BUTTON, DECISION_ACTION,
    DECISION_OWNER, DECISION_DUE, DECISION_CANDIDATE, DECISION_SUBMIT, HOTSPOTS_PERIOD, HOTSPOTS_GROUPS,
    HOTSPOTS_METHOD, HOTSPOTS_MAP, PATROL_MAP, PATROL_AGENT, PATROL_AGENT_INPUT, PATROL_WEEK, PATROL_ASSIGNMENT,
    PATROL_VISITS,
    PATROL_MINUTES, PATROL_NOTE, PATROL_SUBMIT,
    REVIEW_WEEK, REVIEW_BEFORE, REVIEW_AFTER, REVIEW_MAP, REVIEW_NOTE_SECTION, REVIEW_NOTE_TEXT, REVIEW_NOTE_SUBMIT,
    REVIEW_MARK_BUTTON, REVIEW_DECISION, REVIEW_DECISIONS_SEEN, REVIEW_DECISION_STATUS, REVIEW_DECISION_OUTCOME,
    REVIEW_DECISION_SUBMIT,
    CCTV_DEPLOYED_FILE, CCTV_WHATIF_SITES, CCTV_WHATIF_X, CCTV_WHATIF_Y, CCTV_WHATIF_ADD, CCTV_WHATIF_CLEAR,
    CCTV_EXTRA_SITES, CCTV_WEEK, CCTV_MAP,
    DATA_UPLOAD, DATA_INGEST_BUTTON, DATA_QUARANTINE_FILE, DATA_QUARANTINE_TEXT, DATA_BACKTEST_BUTTON,
    DATA_BACKTEST_SHOW,
    OVERVIEW_SOURCE, OVERVIEW_PERIOD, OVERVIEW_GROUP, OVERVIEW_WARD, HOTSPOTS_BOROUGH, HOTSPOTS_WARDS, HOTSPOTS_PLACE,
    HOTSPOTS_GIS_LAYER, IDENTITY, SIGNIN_NAME, SIGNIN_PASSWORD, SIGNIN_SUBMIT, SIGN_OUT_BUTTON, SSO_BUTTON, SSO_REFUSED, VIEW_PAGE,
    JUST_SIGNED_IN, SESSION_TOKEN, COOKIE_CLEAR, SESSION_ENDED, TASKING_OPENED_APPROVED,
    VIEW_AUDITED, TASKING_PRESENCE, TASKING_MAP, AREA, AREA_INPUT, RUN_VIEWER, SCHEMES_SORT,
)


def restore(session: MutableMapping[str, Any], widget_key: str, key: str) -> None:
    """Fill a widget's key from the plain key that outlives page changes (before the widget is drawn).

    Examples
    --------
    >>> s = {USER: "Sam"}
    >>> restore(s, USER_INPUT, USER); s[USER_INPUT]
    'Sam'
    >>> s[USER_INPUT] = "Alex"; restore(s, USER_INPUT, USER); s[USER_INPUT]
    'Alex'
    """
    if widget_key not in session and key in session:
        session[widget_key] = session[key]


def today(session: Mapping[str, Any], *, clock: Callable[[], dt.date] = dt.date.today) -> dt.date:
    """The date the pages treat as today: ``session[TODAY]`` when set (date or ISO text), else ``clock()``.

    Raises
    ------
    ValueError
        If ``session[TODAY]`` is neither a date nor ISO text.

    Examples
    --------
    >>> today({TODAY: "2026-11-23"})
    datetime.date(2026, 11, 23)
    >>> today({}, clock=lambda: dt.date(2030, 1, 1))
    datetime.date(2030, 1, 1)
    """
    value = session.get(TODAY)
    if value is None:
        return clock()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        msg = f"session[{TODAY!r}] was {value!r}; give a datetime.date or ISO text YYYY-MM-DD"
        raise ValueError(msg) from exc


def default_month(all_months: Sequence[str], mappable_months: Sequence[str]) -> str | None:
    """The month selected at first: the newest with points to map, else the newest stored.

    Examples
    --------
    >>> default_month(["2018-06", "2024-09"], ["2018-06"])
    '2018-06'
    >>> default_month(["2024-09"], [])
    '2024-09'
    >>> default_month([], []) is None
    True
    """
    if mappable_months:
        return mappable_months[-1]
    return all_months[-1] if all_months else None


def keep_valid(session: MutableMapping[str, Any], key: str, allowed: Collection[Any]) -> None:
    """Drop values of the selection ``session[key]`` that are no longer among ``allowed`` options.

    A selection made under other options (say, a Westminster ward picked
    before the neighbouring boroughs were hidden) would otherwise not match
    the widget's options.  A missing key is left missing (the widget default applies).
    """
    current = session.get(key)
    if current is None:
        return
    if isinstance(current, (list, tuple)):
        session[key] = [v for v in current if v in allowed]
    elif current not in allowed:
        del session[key]


def keep_range(session: MutableMapping[str, Any], key: str, allowed: Sequence[Any]) -> None:
    """Drop the range selection ``session[key]`` (a pair) unless both ends are still among ``allowed``.

    Examples
    --------
    >>> s = {HOTSPOTS_PERIOD: ("2018-05", "2018-06")}
    >>> keep_range(s, HOTSPOTS_PERIOD, ["2018-06"]); s
    {}
    """
    current = session.get(key)
    if current is None:
        return
    if not isinstance(current, (list, tuple)) or len(current) != 2 or not set(current) <= set(allowed):
        del session[key]
