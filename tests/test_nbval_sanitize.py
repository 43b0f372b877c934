"""tests/nbval_sanitize.cfg rewrites only what varies between machines and PyTorch releases.

The patterns are read and applied as nbval reads and applies them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from nbval.plugin import get_sanitize_patterns

CONFIG = Path(__file__).resolve().parent / "nbval_sanitize.cfg"


def sanitize(text: str) -> str:
    for regex, replace in get_sanitize_patterns(CONFIG.read_text()):
        text = re.sub(regex, replace, text)
    return text


@pytest.mark.parametrize(
    ("here", "there"),
    [
        # torch 2.14 prints BatchNorm's bias argument, torch 2.11 has none
        (
            "BatchNorm2d(24, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)",
            "BatchNorm2d(24, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)",
        ),
        ("tensor([1., 2.])", "tensor([1., 2.], device='cuda:0')"),
        ("tensor([1.], dtype=torch.float64)", "tensor([1.], device='cuda:0', dtype=torch.float64)"),
        ("cpu cpu", "cuda:0 cuda:0"),
        ("'2.14.1+cu130'", "'2.11.0+cu130'"),
        ("took 12.5 s", "took 3 s"),
    ],
)
def test_what_varies_compares_equal(here, there):
    assert sanitize(here) == sanitize(there)


@pytest.mark.parametrize(
    ("here", "there"),
    [
        (
            "BatchNorm2d(24, eps=1e-05, momentum=0.1, affine=True, bias=False, track_running_stats=True)",
            "BatchNorm2d(24, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)",
        ),
        ("BatchNorm1d(256, eps=1e-05, affine=True)", "BatchNorm1d(128, eps=1e-05, affine=True)"),
        ("tensor([1., 2.])", "tensor([1., 3.])"),
        ("Linear(in_features=784, out_features=10, bias=True)", "Linear(in_features=784, out_features=10)"),
    ],
)
def test_what_matters_still_differs(here, there):
    assert sanitize(here) != sanitize(there)


def test_every_section_is_read():
    """nbval reads a pattern only as a ``regex:`` line followed by a ``replace: VALUE`` line."""
    sections = re.findall(r"^\[.+\]$", CONFIG.read_text(), flags=re.MULTILINE)
    assert len(get_sanitize_patterns(CONFIG.read_text())) == len(sections)
