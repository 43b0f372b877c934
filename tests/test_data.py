"""Finding, downloading and verifying MNIST, and the two routes to batches."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from mnist_tutorial import data, paths
from mnist_tutorial.data import (
    MNIST_MEAN,
    MNIST_STD,
    RAW_FILES,
    MNISTDataError,
    TensorBatches,
    ensure_mnist,
    load_split,
    mnist_dataset,
    mnist_loader,
    normalise,
    raw_folder,
)

REFUSED = "http://127.0.0.1:9/"  # the discard port: nothing listens, so connecting fails at once


def test_data_root_prefers_argument_then_environment_then_repository(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "from-env"))
    assert paths.data_root(tmp_path / "given") == (tmp_path / "given").resolve()
    assert paths.data_root() == (tmp_path / "from-env").resolve()
    monkeypatch.delenv(paths.DATA_ENV)
    assert paths.data_root() == paths.REPO_ROOT / "data"


def test_real_files_verify_and_every_check_hashes_all_four(mnist_root, monkeypatch):
    hashed: list[str] = []
    real_md5 = data._md5
    monkeypatch.setattr(data, "_md5", lambda path: hashed.append(path.name) or real_md5(path))
    assert ensure_mnist(mnist_root) == mnist_root
    assert ensure_mnist(mnist_root) == mnist_root
    assert hashed == [spec.name for spec in RAW_FILES] * 2


def test_a_file_altered_after_a_good_check_is_caught_even_with_its_old_size_and_time(mnist_copy):
    ensure_mnist(mnist_copy)
    labels = raw_folder(mnist_copy) / "t10k-labels-idx1-ubyte"
    before = labels.stat()
    content = bytearray(labels.read_bytes())
    content[100] ^= 0xFF
    labels.write_bytes(bytes(content))
    os.utime(labels, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(MNISTDataError, match="t10k-labels-idx1-ubyte is not the published MNIST file"):
        ensure_mnist(mnist_copy)


def test_a_truncated_file_is_named_with_both_checksums(mnist_copy):
    path = raw_folder(mnist_copy) / "train-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:1000])
    actual = hashlib.md5(path.read_bytes()).hexdigest()
    with pytest.raises(MNISTDataError) as caught:
        ensure_mnist(mnist_copy)
    message = str(caught.value)
    assert "train-labels-idx1-ubyte" in message
    assert "a25bea736e30d166cdddb491f175f624" in message and actual in message
    assert "60008 bytes" in message and "1000 bytes" in message


def test_an_altered_file_of_the_right_size_is_refused_and_never_loaded(mnist_copy):
    path = raw_folder(mnist_copy) / "t10k-images-idx3-ubyte"
    content = bytearray(path.read_bytes())
    content[5000] ^= 0xFF
    path.write_bytes(bytes(content))
    with pytest.raises(MNISTDataError, match="t10k-images-idx3-ubyte.*2646ac647ad5339dbf082846283269ea"):
        load_split(False, root=mnist_copy)
    with pytest.raises(MNISTDataError):
        mnist_dataset(False, mnist_copy)


def test_missing_files_without_download_name_the_variable_and_the_files(tmp_path):
    with pytest.raises(MNISTDataError) as caught:
        ensure_mnist(tmp_path, download=False)
    message = str(caught.value)
    assert "MNIST_TUTORIAL_DATA" in message
    assert all(spec.name in message for spec in RAW_FILES)


@pytest.mark.parametrize("absent", [["t10k-labels-idx1-ubyte"], ["train-images-idx3-ubyte", "t10k-images-idx3-ubyte"]])
def test_each_missing_file_is_named_and_only_those(mnist_copy, absent):
    for name in absent:
        (raw_folder(mnist_copy) / name).unlink()
    with pytest.raises(MNISTDataError) as caught:
        ensure_mnist(mnist_copy, download=False)
    first_line, *rest = str(caught.value).splitlines()
    assert first_line == f"MNIST is not available: missing {', '.join(absent)}."
    assert str(raw_folder(mnist_copy)) in rest[0] and "MNIST_TUTORIAL_DATA" in rest[1]


def test_missing_files_offline_fail_within_seconds_without_a_traceback_wall(tmp_path, monkeypatch):
    from torchvision.datasets import MNIST

    monkeypatch.setattr(MNIST, "mirrors", [REFUSED])
    start = time.monotonic()
    with pytest.raises(MNISTDataError) as caught:
        ensure_mnist(tmp_path)
    assert time.monotonic() - start < 20  # most of it starts the Python that downloads
    message = str(caught.value)
    assert "the download failed" in message and "Connection refused" in message and "MNIST_TUTORIAL_DATA" in message
    assert all(spec.name in message for spec in RAW_FILES)
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert socket.getdefaulttimeout() is None, "the download must leave this process's sockets alone"


def test_a_mirror_that_accepts_and_never_answers_fails_after_the_time_limit(tmp_path, monkeypatch):
    from torchvision.datasets import MNIST

    silent = socket.create_server(("127.0.0.1", 0))  # the kernel accepts connections; nobody answers
    threading.Timer(30, silent.close).start()  # without the time limit, the test fails instead of hanging
    monkeypatch.setattr(MNIST, "mirrors", [f"http://127.0.0.1:{silent.getsockname()[1]}/"])
    monkeypatch.setattr(data, "DOWNLOAD_SECONDS", 3.0)
    start = time.monotonic()
    try:
        with pytest.raises(MNISTDataError, match=r"the download failed \(timed out after 3 s\)"):
            ensure_mnist(tmp_path)
    finally:
        silent.close()
    assert time.monotonic() - start < 20


@pytest.fixture()
def mirror(mnist_root: Path, tmp_path: Path, monkeypatch) -> Iterator[str]:
    """A local HTTP mirror serving gzipped copies of the real files, as the real mirrors do."""
    from torchvision.datasets import MNIST

    served = tmp_path / "mirror"
    served.mkdir()
    resources = []
    for spec in RAW_FILES:
        packed = gzip.compress((raw_folder(mnist_root) / spec.name).read_bytes(), compresslevel=1, mtime=0)
        (served / f"{spec.name}.gz").write_bytes(packed)
        resources.append((f"{spec.name}.gz", hashlib.md5(packed).hexdigest()))
    monkeypatch.setattr(MNIST, "resources", resources)
    handler = functools.partial(QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def test_missing_files_are_downloaded_from_a_mirror_then_verified(mirror, tmp_path, monkeypatch):
    from torchvision.datasets import MNIST

    monkeypatch.setattr(MNIST, "mirrors", [REFUSED, mirror])  # torchvision tries the next mirror
    root = tmp_path / "fresh"
    assert ensure_mnist(root) == root.resolve()
    for spec in RAW_FILES:
        assert (raw_folder(root) / spec.name).stat().st_size == spec.size


def test_a_mirror_without_the_files_gives_a_clear_error(tmp_path, monkeypatch):
    from torchvision.datasets import MNIST

    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    handler = functools.partial(QuietHandler, directory=str(empty))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(MNIST, "mirrors", [f"http://127.0.0.1:{server.server_address[1]}/"])
    try:
        with pytest.raises(MNISTDataError, match="the download failed"):
            ensure_mnist(tmp_path / "fresh")
    finally:
        server.shutdown()
        server.server_close()


def test_both_routes_give_equal_tensors_for_the_same_indices(mnist_root):
    dataset = mnist_dataset(True, mnist_root)
    split = load_split(True, root=mnist_root)
    indices = [0, 1, 7, 12_345, 59_999]
    expected_images = torch.stack([dataset[i][0] for i in indices])
    expected_labels = torch.tensor([dataset[i][1] for i in indices])
    assert torch.equal(split.images[indices], expected_images)
    assert torch.equal(split.labels[indices], expected_labels)

    batches = TensorBatches(split, batch_size=64, shuffle=True, seed=3)
    order = torch.randperm(len(split), generator=torch.Generator().manual_seed(3))
    images, labels = next(iter(batches))
    assert torch.equal(images, torch.stack([dataset[i][0] for i in order[:64].tolist()]))
    assert torch.equal(labels, torch.tensor([dataset[i][1] for i in order[:64].tolist()]))


def test_splits_have_the_published_sizes_and_normalisation(mnist_root):
    train, test = load_split(True, root=mnist_root), load_split(False, root=mnist_root)
    assert train.images.shape == (60_000, 1, 28, 28) and test.images.shape == (10_000, 1, 28, 28)
    assert train.images.dtype == torch.float32 and train.labels.dtype == torch.int64
    assert train.images.mean().item() == pytest.approx(0.0, abs=1e-3)
    assert train.images.std().item() == pytest.approx(1.0, abs=1e-3)
    assert train.images.min().item() == pytest.approx(-MNIST_MEAN / MNIST_STD)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_normalise_returns_a_new_tensor_and_leaves_its_input_alone(dtype):
    pixels = torch.tensor([[0, 255], [51, 102]], dtype=dtype)
    before = pixels.clone()
    result = normalise(pixels)
    assert torch.equal(pixels, before) and pixels.dtype == dtype
    assert result.dtype == torch.float32 and result.data_ptr() != pixels.data_ptr()
    assert result[0].tolist() == pytest.approx([-MNIST_MEAN / MNIST_STD, (1 - MNIST_MEAN) / MNIST_STD])


def test_each_split_is_held_once_per_device(mnist_root):
    assert load_split(True, "cpu", mnist_root) is load_split(True, "cpu", mnist_root)
    assert load_split(True, "cpu", mnist_root) is not load_split(False, "cpu", mnist_root)


def test_tensor_batches_cover_every_image_once_and_reshuffle_each_epoch(blobs):
    split = data.Split(*blobs)
    batches = TensorBatches(split, batch_size=100, shuffle=True, seed=5)
    assert len(batches) == 6
    first = torch.cat([labels for _, labels in batches])
    second = torch.cat([labels for _, labels in batches])
    assert [len(labels) for _, labels in batches] == [100] * 5 + [12]
    assert torch.equal(first.sort().values, split.labels.sort().values)
    assert not torch.equal(first, second)
    again = torch.cat([labels for _, labels in TensorBatches(split, batch_size=100, shuffle=True, seed=5)])
    assert torch.equal(first, again)
    ordered = torch.cat([labels for _, labels in TensorBatches(split, batch_size=100)])
    assert torch.equal(ordered, split.labels)


def test_tensor_batches_reject_a_non_positive_batch_size(blobs):
    with pytest.raises(ValueError, match="batch_size must be positive"):
        TensorBatches(data.Split(*blobs), batch_size=0)


def test_the_training_loader_is_shuffled_and_the_test_loader_is_not(mnist_root):
    train_loader = mnist_loader(True, batch_size=16, root=mnist_root)
    test_loader = mnist_loader(False, batch_size=16, root=mnist_root)
    _, train_labels = next(iter(train_loader))
    _, test_labels = next(iter(test_loader))
    assert not torch.equal(train_labels, load_split(True, root=mnist_root).labels[:16])
    assert torch.equal(test_labels, load_split(False, root=mnist_root).labels[:16])
    assert len(train_loader) == 3750 and len(test_loader) == 625
