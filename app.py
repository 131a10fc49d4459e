"""hotspot-tasking dashboard: ``streamlit run app.py`` (see README for the server options).

The entry point only configures the page and routes; each page lives in
``ui/pages/`` and reads the back end through ``ui.cached``.
"""

import streamlit as st

st.set_page_config(page_title="hotspot-tasking", layout="wide")

# No page icons: a Material icon on a page becomes the favicon, fetched from fonts.gstatic.com (offline here).
pages = [
    st.Page("ui/pages/overview.py", title="Overview", default=True),
    st.Page("ui/pages/incidents.py", title="Incidents map"),
    st.Page("ui/pages/hotspots.py", title="Hotspots"),
    st.Page("ui/pages/tasking.py", title="Tasking"),
    st.Page("ui/pages/my_patrols.py", title="My patrols"),
    st.Page("ui/pages/review.py", title="Review"),
    st.Page("ui/pages/cctv.py", title="CCTV planning"),
    st.Page("ui/pages/data.py", title="Data"),
]
st.navigation(pages).run()
