"""hotspot-tasking dashboard: ``streamlit run app.py`` (see README for the server options).

The entry point only configures the page, asks who is signed in and routes:
before sign-in it shows the sign-in screen; after, the menu lists only the
pages the role may open (a page opened by its URL without the role shows an
error, never data: each page checks again, and the data functions of
``tasking.access`` check the role once more).
"""

import streamlit as st

from ui import identity, signin, state

st.set_page_config(page_title="hotspot-tasking", layout="wide")
# No unaudited exports, wherever the server was started from (.streamlit/config.toml says so too): a table's
# own "Download as CSV" and clipboard copy are off; files leave only through the audited download buttons.
st.set_option("client.disableDataExport", True)

viewer = signin.current_viewer()  # read once per run; the page gets it through ui.service.page_context
st.session_state[state.RUN_VIEWER] = viewer
home = identity.default_page(viewer)


PAGE_NAMES = ("overview", "incidents", "hotspots", "tasking", "my_patrols", "review", "cctv", "schemes", "data")


def _shown(page: str) -> str:
    return "visible" if identity.page_visible(viewer, page) else "hidden"


# No page icons: a Material icon on a page becomes the favicon, fetched from fonts.gstatic.com (offline here).
# Every page keeps its own address (a warden's bookmark of /my_patrols, a chair's of /overview): the root
# address is a hidden page of its own that sends each person to their role's first page. (Streamlit serves
# its default page at the root only, so a page made the default loses its own address.)
pages = {name: page for name, page in zip(PAGE_NAMES, [
    st.Page("ui/pages/overview.py", title="Overview", visibility=_shown("overview")),
    st.Page("ui/pages/incidents.py", title="Incidents map", visibility=_shown("incidents")),
    st.Page("ui/pages/hotspots.py", title="Hotspots", visibility=_shown("hotspots")),
    st.Page("ui/pages/tasking.py", title="Tasking", visibility=_shown("tasking")),
    st.Page("ui/pages/my_patrols.py", title="My patrols", visibility=_shown("my_patrols")),
    st.Page("ui/pages/review.py", title="Review", visibility=_shown("review")),
    st.Page("ui/pages/cctv.py", title="CCTV planning", visibility=_shown("cctv")),
    st.Page("ui/pages/schemes.py", title="Schemes", visibility=_shown("schemes")),
    st.Page("ui/pages/data.py", title="Data", visibility=_shown("data")),
], strict=True)}


def _root() -> None:
    """The root address's page; never runs: below, app.py switches to the role's first page instead."""


root = st.Page(_root, title="hotspot-tasking", url_path="start", default=True, visibility="hidden")
page = st.navigation([root, *pages.values()])
if viewer is None:
    signin.clear_session_cookie()
    signin.sign_in_form()
    st.stop()
if page is root:  # the root address: the role's own first page (Overview, or My patrols for a warden)
    st.switch_page(pages[home])
current = next(name for name, p in pages.items() if p is page)
landing = identity.landing_after_sign_in(st.session_state, viewer, current)
if landing is not None:  # a warden signing in at Overview's address goes to My patrols, not to a refusal
    st.switch_page(pages[landing])
signin.sidebar(viewer)
page.run()
