"""The roles of dashboard accounts (light to import: the command line's parser offers them as choices).

:mod:`spatial.store.accounts` stores them and :mod:`tasking.access` says what each may see and do.
"""

from __future__ import annotations

from typing import Final

__all__ = ["AGENT_ROLES", "ROLES"]

#: Roles an account may hold (see ``tasking.access`` for what each may see and do).
ROLES: Final = ("chair", "analyst", "cctv", "warden", "partner")
#: Roles that must name their roster agent id.
AGENT_ROLES: Final = ("warden",)
