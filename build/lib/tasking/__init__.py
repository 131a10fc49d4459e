"""Tasking: resources, candidates, the weekly allocation, Designing Out Crime advice.

* :mod:`tasking.resources` - the roster as data (``tasking/data/rbkc_roster.yaml``);
* :mod:`tasking.candidates` - hotspots to patrol patches, estates and parks with priorities;
* :mod:`tasking.allocation` - the weekly MILP (HiGHS via scipy) and CCTV maximal covering;
* :mod:`tasking.greedy`, :mod:`tasking.check` - the baseline and the independent checker;
* :mod:`tasking.decompose` - a valid bound for large instances from block relaxations;
* :mod:`tasking.design_out` - Designing Out Crime rules and ranked recommendations.

Nothing in this package imports Streamlit; the dashboard lives in ``ui/``.
"""

__all__: list[str] = []
