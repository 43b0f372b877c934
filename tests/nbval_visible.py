"""A pytest plugin for nbval: run each chapter as its page shows it, without the cells the page hides.

``pytest --nbval -p tests.nbval_visible ...`` skips the code cells tagged ``remove-cell`` or
``remove-input``: the build's checks and glue, which ``make book`` runs. The cells a reader sees
then run on their own in a fresh kernel and their outputs are compared with the reference, so one
execution shows both that the visible code needs nothing from a hidden cell (a name only a hidden
cell defines fails the cell that uses it) and that it prints what the reference does. Hidden cells
have no output that nbval compares (``tests/test_references.py`` checks it), so no comparison is lost.
"""

from __future__ import annotations

import pytest
from nbformat import NotebookNode
from nbval.plugin import IPyNbCell

#: The tags of the cells whose code the page does not show.
HIDDEN = frozenset({"remove-cell", "remove-input"})
REASON = "hidden on the page (the build runs it): left out, so that the visible code runs on its own"


def is_hidden(cell: NotebookNode) -> bool:
    """Whether the page leaves out a code cell's source."""
    return bool(HIDDEN & set(cell.metadata.get("tags", [])))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark nbval's hidden cells as skipped: pytest then never sends them to the kernel."""
    for item in items:
        if isinstance(item, IPyNbCell) and is_hidden(item.cell):
            item.add_marker(pytest.mark.skip(reason=REASON))
