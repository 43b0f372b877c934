"""Where the data and the book's images are found, which device is picked, and what seeding repeats."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from mnist_tutorial import paths
from mnist_tutorial.paths import data_root, image_path
from mnist_tutorial.runtime import pick_device, seed_everything


def test_data_root_takes_the_argument_before_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "from-env"))
    assert data_root(tmp_path / "given") == (tmp_path / "given").resolve()
    assert data_root(str(tmp_path / "given")) == (tmp_path / "given").resolve()
    assert data_root() == (tmp_path / "from-env").resolve()


def test_data_root_expands_the_home_folder_and_resolves_relative_paths(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert data_root("~/mnist") == (tmp_path / "home" / "mnist").resolve()
    assert data_root("relative/../data") == (tmp_path / "data").resolve()
    assert data_root().is_absolute()
    monkeypatch.setenv(paths.DATA_ENV, "~/from-env")
    assert data_root() == (tmp_path / "home" / "from-env").resolve()


def test_without_argument_or_environment_data_go_beside_the_code_in_a_checkout_else_to_the_user_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setenv(paths.DATA_ENV, "")  # set but empty counts as unset
    assert data_root() == paths.REPO_ROOT / "data"
    monkeypatch.delenv(paths.DATA_ENV)
    assert data_root() == paths.REPO_ROOT / "data"
    monkeypatch.setattr(paths, "in_checkout", lambda: False)
    monkeypatch.setattr(paths.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data_root() == tmp_path / "xdg" / "mnist_tutorial" / "data"


def test_image_path_finds_the_books_images_in_img():
    path = image_path("nn.png")
    assert path == paths.REPO_ROOT / "img" / "nn.png" and path.is_file()


def test_a_missing_image_is_refused_with_its_name_and_the_folder_searched():
    folder = paths.REPO_ROOT / "img"
    with pytest.raises(FileNotFoundError, match="image 'absent.png' not found in ") as error:
        image_path("absent.png")
    assert str(folder) in str(error.value)
    with pytest.raises(FileNotFoundError, match="image '' not found"):
        image_path("")  # the folder itself is not an image


def machine_with(monkeypatch: pytest.MonkeyPatch, accelerator: str | None, count: int = 1) -> None:
    """Make torch.accelerator report ``count`` devices of ``accelerator`` (or none) available."""
    device = torch.device(accelerator) if accelerator else None
    monkeypatch.setattr(torch.accelerator, "current_accelerator", lambda check_available=False: device)
    monkeypatch.setattr(torch.accelerator, "device_count", lambda: count if device else 0)


def test_auto_picks_the_cpu_on_a_machine_without_accelerators(monkeypatch: pytest.MonkeyPatch):
    machine_with(monkeypatch, None)
    assert pick_device() == torch.device("cpu")
    assert pick_device("auto") == torch.device("cpu")
    assert pick_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("kind", ["cuda", "mps"])
def test_auto_picks_the_accelerator_torch_reports(monkeypatch: pytest.MonkeyPatch, kind):
    machine_with(monkeypatch, kind)
    assert pick_device() == torch.device(kind)
    assert pick_device(kind) == torch.device(kind)


def test_auto_agrees_with_torch_accelerator_on_this_machine():
    expected = torch.accelerator.current_accelerator() if torch.accelerator.is_available() else torch.device("cpu")
    assert pick_device() == expected


def test_named_devices_keep_their_index_and_devices_pass_through(monkeypatch: pytest.MonkeyPatch):
    machine_with(monkeypatch, "cuda", count=2)
    assert pick_device("cuda:1") == torch.device("cuda", 1)
    device = torch.device("cpu")
    assert pick_device(device) is device


@pytest.mark.parametrize(
    ("accelerator", "count", "name"),
    [
        (None, 0, "cuda"),
        (None, 0, "cuda:0"),
        (None, 0, "mps"),
        ("mps", 1, "cuda"),
        ("cuda", 1, "mps"),
        ("cuda", 2, "cuda:2"),
    ],
)
def test_an_unavailable_accelerator_is_refused_rather_than_replaced_by_the_cpu(
    monkeypatch: pytest.MonkeyPatch, accelerator, count, name
):
    machine_with(monkeypatch, accelerator, count)
    with pytest.raises(ValueError, match=f"device '{name}' is not available on this machine"):
        pick_device(name)
    with pytest.raises(ValueError, match=f"device '{name}' is not available on this machine"):
        pick_device(torch.device(name))


@pytest.mark.parametrize("name", ["cuda:x", "cuda:-1"])
def test_a_malformed_index_is_refused(name):
    with pytest.raises(ValueError, match=f"unknown device '{name}'; write a kind and an index"):
        pick_device(name)


def test_a_device_of_another_type_is_refused():
    with pytest.raises(TypeError, match="a device is a name or a torch.device, got int"):
        pick_device(0)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["tpu", "GPU", "CPU", ""])
def test_an_unknown_device_is_refused_with_the_choices(name):
    with pytest.raises(ValueError, match=f"unknown device '{name}'; choose one of auto, cpu, cuda, mps"):
        pick_device(name)


def draws() -> tuple[float, float, torch.Tensor]:
    return random.random(), float(np.random.rand()), torch.rand(5)


def test_seeding_repeats_pythons_numpys_and_pytorchs_random_numbers():
    seed_everything(7)
    first = draws()
    seed_everything(7)
    again = draws()
    assert first[:2] == again[:2] and torch.equal(first[2], again[2])
    seed_everything(8)
    other = draws()
    assert first[0] != other[0] and first[1] != other[1] and not torch.equal(first[2], other[2])
