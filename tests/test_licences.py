"""The licences are stated where readers and tools look: LICENSE, pyproject.toml, CITATION.cff, README, the book."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

import mnist_tutorial

REPO = Path(__file__).resolve().parent.parent
CC_BY = "https://creativecommons.org/licenses/by/4.0/"
MNIST_CREDIT = "Yann LeCun, Corinna Cortes and Christopher J.C. Burges (CC BY-SA 3.0)"


def test_the_code_is_mit_in_spdx_form_with_its_licence_file():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["license"] == "MIT"
    assert pyproject["project"]["license-files"] == ["LICENSE"]
    assert "setuptools>=77" in pyproject["build-system"]["requires"], "older setuptools reject SPDX strings"
    licence = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("MIT License\n") and "Permission is hereby granted, free of charge" in licence


def test_citation_file_is_valid_and_matches_the_package():
    checker = Path(sys.executable).parent / "check-jsonschema"
    command = [str(checker), "--builtin-schema", "vendor.citation-file-format", str(REPO / "CITATION.cff")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    assert citation["version"] == mnist_tutorial.__version__
    assert set(citation["license"]) == {"MIT", "CC-BY-4.0"}
    assert any("MNIST" in reference["title"] for reference in citation["references"])


def test_readme_book_and_footer_state_both_licences_and_credit_mnist():
    footer = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))["html"]["extra_footer"]
    for name, text in [
        ("README.md", (REPO / "README.md").read_text(encoding="utf-8")),
        ("book/intro.md", (REPO / "book" / "intro.md").read_text(encoding="utf-8")),
        ("the footer", footer),
    ]:
        flat = " ".join(text.split())
        assert CC_BY in flat and "MIT" in flat, f"{name} does not state both licences"
        assert MNIST_CREDIT in flat, f"{name} lost the MNIST credit"
