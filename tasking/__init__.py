"""Tasking: resources, allocation, Designing Out Crime advice and meeting records.

The allocation model and the rest arrive with the tasking issue; the package
exists now so the layout and the no-Streamlit import rule are in place.
"""

__all__: list[str] = []
