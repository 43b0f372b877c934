"""The API page documents exactly the package's public names.

Constants are documented where they are defined (``mnist_tutorial.data.MNIST_MEAN``), where
autodoc finds their ``#:`` comments; through ``mnist_tutorial`` it would show the docstring of
their type instead (``float``'s, ``dict``'s).
"""

from __future__ import annotations

import re
from pathlib import Path

import mnist_tutorial

API_PAGE = Path(__file__).resolve().parent.parent / "book" / "api.md"


def test_the_api_page_documents_every_public_name_once_and_nothing_else():
    pattern = r"^\.\. auto(?:function|class|data|exception):: (?:mnist_tutorial\.\w+\.)?(\w+)$"
    names = re.findall(pattern, API_PAGE.read_text(), re.MULTILINE)
    assert sorted(names) == sorted(set(names)), "documented twice"
    assert set(names) == set(mnist_tutorial.__all__)
