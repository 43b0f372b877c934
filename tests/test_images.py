"""The images in img/ are what img/README.md says they are."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import matplotlib
import pytest

IMG = Path(__file__).resolve().parent.parent / "img"


def load_drawing_script():
    spec = importlib.util.spec_from_file_location("draw_images", IMG / "draw_images.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_drawn_images_are_the_scripts_output(tmp_path: Path):
    written = load_drawing_script().main(tmp_path)
    assert written, "the script drew nothing"
    for path in written:
        committed = IMG / path.name
        assert committed.is_file(), f"{path.name} is drawn but not committed; run make images"
        assert committed.read_bytes() == path.read_bytes(), f"{path.name} is stale; run make images"


def test_the_photo_is_matplotlibs_public_domain_sample():
    sample = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    assert (IMG / "grace_hopper.jpg").read_bytes() == sample.read_bytes()


@pytest.mark.parametrize("path", sorted(p.name for p in IMG.iterdir() if p.suffix in {".png", ".jpg"}))
def test_every_image_has_its_provenance_written_down(path: str):
    assert f"`{path}`" in (IMG / "README.md").read_text()
