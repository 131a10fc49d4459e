"""Showing user- and data-supplied text on a page as text, never as Markdown (pure, no Streamlit).

Streamlit renders ``st.markdown``, ``st.write``, captions, alerts, tooltips and
help text as Markdown (with GitHub autolinks and its own ``:red[...]`` colour
directives).  An estate name like ``![x](http://127.0.0.1/track.png)`` would
load an image in the reader's browser, ``[Report](/phish)`` would become a
link and ``=HYPERLINK("http://x")`` an autolink.  :func:`md_escape` puts a
backslash before every character Markdown (CommonMark, GFM, Streamlit
directives and HTML) gives a meaning to, so the page shows the text exactly as
stored.  Every such string in ``ui/`` goes through it; text that needs no
Markdown is better shown with ``st.text`` or in a ``st.dataframe``.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["MARKDOWN_SPECIAL", "md_escape", "md_unescape"]

#: Characters escaped by :func:`md_escape` (CommonMark's ASCII punctuation that can start or end syntax,
#: ``:`` for autolinks and Streamlit's ``:colour[...]`` / ``:emoji:`` directives, ``$`` for LaTeX).
MARKDOWN_SPECIAL = "\\`*_{}[]()<>#+-.!|~:$=&\"'/@"
_SPECIAL = re.compile("([" + re.escape(MARKDOWN_SPECIAL) + "])")
_ESCAPED = re.compile(r"\\([" + re.escape(MARKDOWN_SPECIAL) + "])")


def md_escape(value: Any) -> str:
    """``value`` as text that Markdown shows literally; new lines become spaces (one line of text).

    Examples
    --------
    >>> print(md_escape("![x](http://h/i.png) **b** :red[c]"))
    \\!\\[x\\]\\(http\\:\\/\\/h\\/i\\.png\\) \\*\\*b\\*\\* \\:red\\[c\\]
    >>> md_escape(None), md_escape(12)
    ('', '12')
    """
    if value is None:
        return ""
    text = " ".join(str(value).splitlines())
    return _SPECIAL.sub(r"\\\1", text)


def md_unescape(text: str) -> str:
    """The text :func:`md_escape` was given (for tests and for checking what a page shows).

    >>> md_unescape(md_escape("[a](/phish) <img src=x>"))
    '[a](/phish) <img src=x>'
    """
    return _ESCAPED.sub(r"\1", text)
