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

import contextlib
import hashlib
import json
import math
import os
import socket
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import torch

from .paths import DATA_ENV, cache_dir, data_root
from .runtime import DEFAULT_SEED

if TYPE_CHECKING:
    import torchvision

#: Mean of all training pixels, scaled to [0, 1]; the MNIST data chapter computes it from the
#: data and checks it against this value.
MNIST_MEAN = 0.1307

#: Standard deviation of all training pixels, scaled to [0, 1], computed and checked likewise.
MNIST_STD = 0.3081

#: Mirrors tried, in order, when the raw files are missing (torchvision's own list).
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)


@dataclass(frozen=True)
class RawFile:
    """One of the four original MNIST files, with its published size and md5."""

    name: str
    size: int
    md5: str


#: The four files of MNIST as published, with their sizes in bytes and md5 checksums.
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
    """The MNIST files are missing, unreadable or not the published ones."""


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


def _reachable(url: str, timeout: float) -> bool:
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def _download(raw: Path, mirrors: Sequence[str], timeout: float) -> None:
    """Download and extract the raw files through torchvision, failing fast when offline."""
    live = [m for m in mirrors if _reachable(m, timeout)]
    if not live:
        raise MNISTDataError(_missing_message(raw, f"files are missing and no mirror answered ({', '.join(mirrors)})"))
    from torchvision.datasets import MNIST

    # torchvision names the folder after the class, so the subclass keeps the name "MNIST".
    mirrored = type("MNIST", (MNIST,), {"mirrors": live})
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout * 10)
    try:
        mirrored(str(raw.parent.parent), train=True, download=True)
    except Exception as error:  # torchvision raises RuntimeError or URLError subclasses
        raise MNISTDataError(_missing_message(raw, f"the download failed ({error})")) from None
    finally:
        socket.setdefaulttimeout(previous)


def _stamp_file() -> Path:
    return cache_dir() / "verified-mnist.json"


def _read_stamps() -> dict[str, list[int]]:
    try:
        return json.loads(_stamp_file().read_text())
    except (OSError, ValueError):
        return {}


def verify_files(raw: Path) -> None:
    """Check size and md5 of the four files in ``raw``; remember files that passed.

    A file whose path, size and modification time match an earlier successful check is not
    hashed again; any change to it brings a full check.
    """
    stamps = _read_stamps()
    changed = False
    for expected in RAW_FILES:
        path = raw / expected.name
        try:
            stat = path.stat()
        except OSError as error:
            raise MNISTDataError(_missing_message(raw, f"{expected.name} cannot be read ({error.strerror})")) from None
        key = str(path.resolve())
        signature = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
        if stamps.get(key) == signature:
            continue
        actual = _md5(path)
        if stat.st_size != expected.size or actual != expected.md5:
            raise MNISTDataError(
                f"{path} is not the published MNIST file: expected {expected.size} bytes with md5 "
                f"{expected.md5}, found {stat.st_size} bytes with md5 {actual}. "
                "Delete it to download it again, or point "
                f"{DATA_ENV} at a good copy."
            )
        stamps[key] = signature
        changed = True
    if changed:
        with contextlib.suppress(OSError):  # a read-only cache only costs a re-check next time
            _stamp_file().write_text(json.dumps(stamps, indent=1))


def ensure_mnist(
    root: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    mirrors: Sequence[str] = MIRRORS,
    timeout: float = 3.0,
) -> Path:
    """Make sure the four verified MNIST files are under ``root`` and return the data root.

    Missing files are downloaded when ``download`` is true and a mirror answers within
    ``timeout`` seconds; otherwise :class:`MNISTDataError` says what to do.
    """
    root_path = data_root(root)
    raw = raw_folder(root_path)
    missing = [f.name for f in RAW_FILES if not (raw / f.name).is_file()]
    if missing:
        if not download:
            raise MNISTDataError(_missing_message(raw, f"missing {', '.join(missing)}"))
        _download(raw, mirrors, timeout)
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
    """Scale uint8 pixels to [0, 1] and standardise them, exactly as ToTensor + Normalize do."""
    return pixels.to(torch.float32).div_(255).sub_(MNIST_MEAN).div_(MNIST_STD)


def load_split(train: bool, device: str | torch.device = "cpu", root: str | os.PathLike[str] | None = None) -> Split:
    """Return one split normalised on ``device``; each split is held once per device."""
    root_path = ensure_mnist(root)
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
