"""MNIST on disk: finding, downloading and verifying the four raw files, and serving batches.

Two routes lead from the raw files to batches of normalised images, and they give the same
values:

* the torchvision route the book teaches: :func:`mnist_dataset` (a ``Dataset`` that converts
  one PIL image at a time with ``ToTensor`` and ``Normalize``) and :func:`mnist_loader`
  (a ``DataLoader`` around it);
* the fast route the package trains with: :func:`load_split` normalises a whole split once
  into a single tensor on the chosen device, and :class:`TensorBatches` serves seeded,
  shuffled batches from it by index.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import torch

from .paths import DATA_ENV, data_root
from .runtime import DEFAULT_SEED

if TYPE_CHECKING:
    import torchvision

#: Mean of all training pixels, scaled to [0, 1]; the MNIST data chapter computes it from the
#: data and checks it against this value.
MNIST_MEAN = 0.1307

#: Standard deviation of all training pixels, scaled to [0, 1], computed and checked likewise.
MNIST_STD = 0.3081

#: Longest time, in seconds, a download of the four files may take before it is stopped.
DOWNLOAD_SECONDS = 300.0


@dataclass(frozen=True)
class RawFile:
    """One of the four original MNIST files, unpacked, with its known size and md5."""

    name: str
    size: int
    md5: str


#: The four MNIST files as unpacked from their archives, with their sizes in bytes and md5 checksums.
RAW_FILES = (
    RawFile("train-images-idx3-ubyte", 47_040_016, "6bbc9ace898e44ae57da46a324031adb"),
    RawFile("train-labels-idx1-ubyte", 60_008, "a25bea736e30d166cdddb491f175f624"),
    RawFile("t10k-images-idx3-ubyte", 7_840_016, "2646ac647ad5339dbf082846283269ea"),
    RawFile("t10k-labels-idx1-ubyte", 10_008, "27ae3e4e09519cfbb04c329615203637"),
)


class Batches(Iterable[tuple[torch.Tensor, torch.Tensor]], Sized, Protocol):
    """Anything that yields ``(images, labels)`` batches and knows how many.

    A ``DataLoader`` or a :class:`TensorBatches`.
    """


class MNISTDataError(RuntimeError):
    """The MNIST files are missing, unreadable or not the original ones."""


def raw_folder(root: str | os.PathLike[str] | None = None) -> Path:
    """Return ``<root>/MNIST/raw``, the folder torchvision reads."""
    return data_root(root) / "MNIST" / "raw"


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _missing_message(raw: Path, reason: str) -> str:
    names = ", ".join(f.name for f in RAW_FILES)
    return (
        f"MNIST is not available: {reason}.\n"
        f"Expected the four raw files ({names}) in {raw}.\n"
        f"Set {DATA_ENV} to a folder that holds MNIST/raw/ with them, "
        "or run once on a machine with internet access to download them."
    )


# Run in a Python of its own, which can be stopped: torchvision's downloads have no timeout, and a
# mirror that accepts a connection and never answers would hang them.
_DOWNLOAD = """
import json, sys
from torchvision.datasets import MNIST
root, source = sys.argv[1], json.loads(sys.argv[2])
MNIST.mirrors, MNIST.resources = source["mirrors"], [tuple(resource) for resource in source["resources"]]
try:
    MNIST(root, train=True, download=True)
except Exception as error:
    sys.exit(" ".join(str(error).split()) or type(error).__name__)
"""


def _download(raw: Path, missing: Sequence[str]) -> None:
    """Download the raw files with torchvision's ``MNIST(download=True)``: its mirrors, its md5 check."""
    from torchvision.datasets import MNIST

    source = json.dumps({"mirrors": MNIST.mirrors, "resources": MNIST.resources})  # as this process has them
    print(f"Downloading MNIST into {raw}", flush=True)
    command = [sys.executable, "-c", _DOWNLOAD, str(raw.parent.parent), source]
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=DOWNLOAD_SECONDS)
    except subprocess.TimeoutExpired:
        failure = f"timed out after {DOWNLOAD_SECONDS:g} s"
    else:
        failure = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
        if result.returncode == 0:
            return
    reason = f"missing {', '.join(missing)}; the download failed ({failure})"
    raise MNISTDataError(_missing_message(raw, reason))


def verify_files(raw: Path) -> None:
    """Check the size and md5 of each of the four files in ``raw`` (about 0.1 s for all four)."""
    for expected in RAW_FILES:
        path = raw / expected.name
        try:
            size, actual = path.stat().st_size, _md5(path)
        except OSError as error:
            raise MNISTDataError(_missing_message(raw, f"{expected.name} cannot be read ({error.strerror})")) from None
        if size != expected.size or actual != expected.md5:
            raise MNISTDataError(
                f"{path} is not the published MNIST file: expected {expected.size} bytes with md5 "
                f"{expected.md5}, found {size} bytes with md5 {actual}. "
                "Delete it to download it again, or point "
                f"{DATA_ENV} at a good copy."
            )


def ensure_mnist(root: str | os.PathLike[str] | None = None, *, download: bool = True) -> Path:
    """Make sure the four verified MNIST files are under ``root`` and return the data root.

    Missing files are downloaded when ``download`` is true; otherwise, or when the download
    fails, :class:`MNISTDataError` names the missing files and says what to do.
    """
    root_path = data_root(root)
    raw = raw_folder(root_path)
    missing = [f.name for f in RAW_FILES if not (raw / f.name).is_file()]
    if missing:
        if not download:
            raise MNISTDataError(_missing_message(raw, f"missing {', '.join(missing)}"))
        _download(raw, missing)
    verify_files(raw)
    return root_path


def mnist_transform() -> torchvision.transforms.Compose:
    """Return the per-image transform the book teaches: ``ToTensor`` then ``Normalize``."""
    from torchvision import transforms

    return transforms.Compose([transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))])


def mnist_dataset(
    train: bool, root: str | os.PathLike[str] | None = None, *, transform: object = "default"
) -> torchvision.datasets.MNIST:
    """Return torchvision's MNIST dataset for one split, verified first.

    ``transform`` defaults to :func:`mnist_transform`; pass ``None`` for raw PIL images.
    """
    from torchvision.datasets import MNIST

    root_path = ensure_mnist(root)
    chosen = mnist_transform() if transform == "default" else transform
    return MNIST(str(root_path), train=train, transform=chosen, download=False)


def mnist_loader(
    train: bool,
    batch_size: int = 32,
    root: str | os.PathLike[str] | None = None,
    *,
    shuffle: bool | None = None,
    seed: int = DEFAULT_SEED,
) -> torch.utils.data.DataLoader:
    """Return a ``DataLoader`` over :func:`mnist_dataset`; the training split is shuffled."""
    dataset = mnist_dataset(train, root)
    generator = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=train if shuffle is None else shuffle, generator=generator
    )


@dataclass(frozen=True)
class Split:
    """One MNIST split as two tensors on one device: normalised images and labels."""

    images: torch.Tensor  # (N, 1, 28, 28) float32
    labels: torch.Tensor  # (N,) int64

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: slice) -> Split:
        """Return some of the images, such as the first thousand (``split[:1000]``), as a view."""
        return Split(self.images[index], self.labels[index])

    @property
    def device(self) -> torch.device:
        """The device both tensors live on."""
        return self.images.device


_SPLITS: dict[tuple[Path, bool, str], Split] = {}


def normalise(pixels: torch.Tensor) -> torch.Tensor:
    """Return uint8 pixels scaled to [0, 1] and standardised as ToTensor + Normalize do.

    On a CPU the values are the same to the bit (chapter 5 checks all 256 pixel values); a GPU
    may round the last bit differently.

    The result is a new float32 tensor; ``pixels`` is left as it was.
    """
    return pixels.to(torch.float32, copy=True).div_(255).sub_(MNIST_MEAN).div_(MNIST_STD)


def load_split(train: bool, device: str | torch.device = "cpu", root: str | os.PathLike[str] | None = None) -> Split:
    """Return one split normalised on ``device``; each split is held once per device.

    The files are verified when a split is first loaded, not again when it is held already.
    """
    root_path = data_root(root)
    target = torch.device(device)
    key = (root_path, train, str(target))
    if key not in _SPLITS:
        raw = mnist_dataset(train, root_path, transform=None)
        images = normalise(raw.data.to(target)).unsqueeze(1)
        _SPLITS[key] = Split(images.contiguous(), raw.targets.to(target))
    return _SPLITS[key]


class TensorBatches:
    """Batches of a :class:`Split` served by index, in a seeded shuffled order if asked.

    Each pass draws a new permutation from one generator, so epoch after epoch the order
    changes, and a new ``TensorBatches`` with the same seed repeats the same orders.
    """

    def __init__(self, split: Split, batch_size: int, *, shuffle: bool = False, seed: int = DEFAULT_SEED) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.split = split
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return math.ceil(len(self.split) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        count = len(self.split)
        images, labels = self.split.images, self.split.labels
        if not self.shuffle:
            for start in range(0, count, self.batch_size):
                yield images[start : start + self.batch_size], labels[start : start + self.batch_size]
            return
        order = torch.randperm(count, generator=self.generator).to(self.split.device)
        for index in order.split(self.batch_size):
            yield images.index_select(0, index), labels.index_select(0, index)
