"""Settings for hotspot-tasking, in one place.

Every setting has a default here and may be overridden by an environment
variable (named in each field's comment) or passed explicitly.  Core functions
never read the environment themselves: the edges (CLI, app) build a
:class:`Settings` once and pass values down.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Settings", "repo_root", "in_clone", "bundle_root", "default_data_dir", "default_database_url", "settings_from_args",
           "default_retention_months", "retention_cutoff", "RETENTION_ENV", "hotspot_home", "InputLimits",
           "MAX_DECOMPRESSED_ENV", "MAX_RATIO_ENV", "MAX_ROWS_ENV"]


def repo_root() -> Path:
    """The folder holding ``pyproject.toml`` (the package is installed editable), or site-packages (a wheel)."""
    return Path(__file__).resolve().parents[1]


def in_clone() -> bool:
    """True when running from a clone (an editable install), false from an installed wheel."""
    root = repo_root()
    return (root / "pyproject.toml").is_file() and (root / "app.py").is_file() and (root / "data").is_dir()


def bundle_root() -> Path:
    """The folder holding ``app.py``, ``ui/pages/``, ``static/`` and ``data/``.

    The clone itself, or (an installed wheel) the ``hotspot_assets`` package that
    ``setup.py`` fills at build time, found through :mod:`importlib.resources`.
    """
    if in_clone():
        return repo_root()
    from importlib import resources

    try:
        return Path(str(resources.files("hotspot_assets")))
    except ModuleNotFoundError:
        return repo_root()  # neither a clone nor a built wheel: the caller reports the missing file


def default_data_dir() -> Path:
    """Bundled data: ``$HOTSPOT_DATA_DIR`` or the bundle's ``data/`` (:func:`bundle_root`)."""
    env = os.environ.get("HOTSPOT_DATA_DIR")
    return Path(env) if env else bundle_root() / "data"


def default_database_url() -> str:
    """``$DATABASE_URL`` or an SQLite file under ``$HOTSPOT_HOME`` (default ``<repo>/var``)."""
    env = os.environ.get("DATABASE_URL")
    if env:
        return env
    return f"sqlite:///{hotspot_home() / 'hotspot.sqlite'}"


def hotspot_home() -> Path:
    """Where the server keeps its own files (default store, session secret): ``$HOTSPOT_HOME``, else ``<repo>/var``
    in a clone, else (an installed wheel) ``$XDG_DATA_HOME/hotspot-tasking`` (``~/.local/share/hotspot-tasking``)."""
    env = os.environ.get("HOTSPOT_HOME")
    if env:
        return Path(env)
    if in_clone():
        return repo_root() / "var"
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "hotspot-tasking"


#: Environment variable of :attr:`Settings.retention_months`.
RETENTION_ENV = "HOTSPOT_RETENTION_MONTHS"


def default_retention_months() -> int | None:
    """``$HOTSPOT_RETENTION_MONTHS`` as a whole number of months (1 to 1,200), else None (no retention limit)."""
    raw = os.environ.get(RETENTION_ENV, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 1_200:
        from spatial._errors import HotspotError

        msg = f"{RETENTION_ENV}={raw!r} is not a whole number of months from 1 to 1200"
        raise HotspotError(msg)
    return int(raw)


def retention_cutoff(months: int, now: "pd.Timestamp") -> str:
    """The first month kept under a retention of ``months`` whole months before ``now``'s month (``YYYY-MM``).

    Examples
    --------
    >>> import pandas as pd
    >>> retention_cutoff(24, pd.Timestamp("2026-11-23", tz="Europe/London"))
    '2024-11'
    """
    period = now.tz_localize(None).to_period("M") if now.tzinfo is not None else now.to_period("M")
    return str(period - months)


#: Environment variables of the input limits (:class:`InputLimits`).
MAX_DECOMPRESSED_ENV = "HOTSPOT_MAX_DECOMPRESSED_BYTES"
MAX_RATIO_ENV = "HOTSPOT_MAX_COMPRESSION_RATIO"
MAX_ROWS_ENV = "HOTSPOT_MAX_FILE_ROWS"


def _env_number(name: str, default: float, *, integer: bool = True) -> float:
    raw = os.environ.get(name, "").strip().replace("_", "")
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        value = -1
    if value <= 0:
        from spatial._errors import HotspotError

        msg = f"{name}={raw!r} is not a positive {'whole ' if integer else ''}number"
        raise HotspotError(msg)
    return value


@dataclass(frozen=True)
class InputLimits:
    """Caps on one input file, so a gzip bomb or a file of repeated rows is refused, not ingested.

    ``max_decompressed_bytes`` (``HOTSPOT_MAX_DECOMPRESSED_BYTES``, default 4 GiB) and
    ``max_compression_ratio`` (``HOTSPOT_MAX_COMPRESSION_RATIO``, default 100: real CSV
    compresses 5-15 times, a bomb of zeros 1,000 times) apply to ``.gz`` input while it is
    decompressed as a stream; ``max_rows`` (``HOTSPOT_MAX_FILE_ROWS``, default 10 million
    lines) to every CSV.
    """

    max_decompressed_bytes: int = 4 << 30
    max_compression_ratio: float = 100.0
    max_rows: int = 10_000_000

    @classmethod
    def from_env(cls) -> "InputLimits":
        """The limits with any of the three environment variables applied."""
        d = cls()
        return cls(int(_env_number(MAX_DECOMPRESSED_ENV, d.max_decompressed_bytes)),
                   float(_env_number(MAX_RATIO_ENV, d.max_compression_ratio, integer=False)),
                   int(_env_number(MAX_ROWS_ENV, d.max_rows)))


@dataclass(frozen=True)
class Settings:
    """Run-time settings (frozen; build a new one to change a value)."""

    #: SQLAlchemy URL of the store (``DATABASE_URL``).
    database_url: str = field(default_factory=default_database_url)
    #: Folder of the bundled data (``HOTSPOT_DATA_DIR``).
    data_dir: Path = field(default_factory=default_data_dir)
    #: Area-of-interest buffer around the boundary layer, metres.  Points
    #: further than this outside every ward are counted as outside the area (not stored, no text kept).
    aoi_buffer_m: float = 250.0
    #: Rows per chunk when streaming a file (memory stays flat in file size).
    chunk_rows: int = 100_000
    #: Longest text field accepted, in characters; longer rows are quarantined.
    max_field_chars: int = 10_000
    #: Earliest month accepted (police.uk street data start December 2010;
    #: MPS series April 2010).
    earliest_date: str = "2010-01-01"
    #: Retention period in whole months (``HOTSPOT_RETENTION_MONTHS``); ``None`` = keep everything.
    #: Incidents of older months are refused at ingest (quarantined without their text) and removed
    #: by ``hotspot-tasking purge``.  A council sets this from its retention schedule.
    retention_months: int | None = field(default_factory=lambda: default_retention_months())
    #: Caps on each input file (gzip bombs, repeated rows): :class:`InputLimits`, from the environment.
    input_limits: InputLimits = field(default_factory=lambda: InputLimits.from_env())


def settings_from_args(args: object) -> Settings:
    """Settings for a CLI command: ``--database`` and ``--data-dir`` when given, else the environment's."""
    kw: dict[str, Any] = {}
    if getattr(args, "database", None):
        kw["database_url"] = args.database  # type: ignore[attr-defined]
    if getattr(args, "data_dir", None):
        kw["data_dir"] = Path(args.data_dir)  # type: ignore[attr-defined]
    return Settings(**kw)
