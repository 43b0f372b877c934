"""Training in several processes: the chapter's script, the command line under torchrun, a killed worker.

The tests that start torchrun are marked ``integration``: each starts processes that import
PyTorch and load MNIST, which takes tens of seconds on a small machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import mnist_tutorial as mt
from mnist_tutorial import cli, distributed

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
#: Seconds a torchrun job may take before a test calls it hung.
HANG = 300


def torchrun(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a two-process torchrun job to its end (or fail the test if it hangs)."""
    return subprocess.run([*TORCHRUN, *args], cwd=cwd, capture_output=True, text=True, timeout=HANG)


def largest_difference(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor]) -> float:
    """The largest absolute difference between two state dicts with the same keys."""
    assert first.keys() == second.keys()
    return max((first[name] - second[name]).abs().max().item() for name in first)


@pytest.mark.integration
def test_one_ddp_step_of_two_times_16_images_is_one_step_on_the_32(mnist_root: Path, tmp_path: Path):
    saved = tmp_path / "step.pt"
    args = ["--train-size", "32", "--batch-size", "16", "--lr", "0.1", "--save", str(saved)]
    done = torchrun("-m", "mnist_tutorial.train_ddp", *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1 steps per epoch" in done.stdout and done.stdout.count("epoch 1 ") == 1  # rank 0 alone
    # one process, the same seed, DistributedSampler's permutation for epoch 1, one batch of 32
    train, _ = mt.hold_out(mt.load_split(True), 5000)
    torch.manual_seed(mt.DEFAULT_SEED)
    model = mt.build_model("linear")
    before = {name: value.clone() for name, value in model.state_dict().items()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    order = torch.randperm(32, generator=torch.Generator().manual_seed(mt.DEFAULT_SEED + 1))
    mt.training_step(model, train.images[order], train.labels[order], optimizer)
    ddp = torch.load(saved)
    gap = largest_difference(model.state_dict(), ddp)
    print(f"largest difference, one step of 2 x 16 against 32: {gap:.2e}")
    assert gap < 1e-6  # rounding: the sums are added in another order
    assert largest_difference(before, ddp) > 1e-3  # the step did move the weights


@pytest.mark.integration
def test_the_command_line_trains_with_ddp_under_torchrun(mnist_root: Path, tmp_path: Path):
    saved = tmp_path / "ddp.pt"
    options = ["--model", "linear", "--epochs", "1", "--save"]
    done = torchrun("-m", "mnist_tutorial", "train", *options, str(saved), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["training", "epoch", "saved"], lines  # rank 0 only
    assert "DistributedDataParallel, 2 processes" in lines[0]
    scored = subprocess.run(
        [sys.executable, "-m", "mnist_tutorial", "evaluate", "--checkpoint", str(saved), "--device", "cpu"],
        capture_output=True, text=True, timeout=HANG,
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    assert "LinearClassifier, trained 1 epochs" in scored.stdout and "test accuracy" in scored.stdout
    # the same recipe as one process: the batches split in two, up to rounding
    plain = tmp_path / "plain.pt"
    # a cache of its own: the session's may hold a linear model of one epoch that another test
    # trained on other data (the cache key names the recipe, not the data)
    own_cache = {**os.environ, "MNIST_TUTORIAL_CACHE": str(tmp_path / "cache")}
    single = subprocess.run(
        [sys.executable, "-m", "mnist_tutorial", "train", *options, str(plain), "--device", "cpu"],
        capture_output=True, text=True, timeout=HANG, env=own_cache,
    )  # fmt: skip
    assert single.returncode == 0, single.stderr
    gap = largest_difference(mt.load_checkpoint(saved).model.state_dict(), mt.load_checkpoint(plain).model.state_dict())
    print(f"largest difference, an epoch on 2 processes against 1: {gap:.2e}")
    assert gap < 1e-4


def _workers(parent: int) -> dict[int, int]:
    """The rank of each process torchrun started (its children with ``RANK`` set), by pid."""
    found = {}
    for child in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
        environ = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        ranks = [entry[5:] for entry in environ if entry.startswith(b"RANK=")]
        if ranks:
            found[int(child)] = int(ranks[0])
    return found


@pytest.mark.integration
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the workers from /proc")
def test_a_killed_worker_ends_the_job_with_an_error_naming_its_rank(mnist_root: Path, tmp_path: Path):
    args = ["-m", "mnist_tutorial.train_ddp", "--epochs", "50", "--batch-size", "8"]
    job = subprocess.Popen(
        [*TORCHRUN, *args], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        header = job.stdout.readline()  # rank 0 prints it just before the first epoch
        assert header.startswith("2 processes (gloo)"), header
        time.sleep(1)  # well into the epoch: 6,875 steps of 8 images per process
        workers = _workers(job.pid)
        assert sorted(workers.values()) == [0, 1], workers
        victim = next(pid for pid, rank in workers.items() if rank == 1)
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        _, stderr = job.communicate(timeout=120)  # the bound: no hang waiting for rank 1
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()
    print(f"the job ended {time.monotonic() - killed:.1f} s after the kill, exit status {job.returncode}")
    assert job.returncode != 0
    cause = stderr.split("Root Cause")[-1]
    assert "rank      : 1 (local_rank: 1)" in cause and "SIGKILL" in cause, stderr[-2000:]


def test_launched_and_quiet_follow_torchruns_variables(monkeypatch: pytest.MonkeyPatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert not distributed.launched() and not distributed.quiet() and distributed.rank() == 0
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert distributed.launched() and distributed.quiet()
    monkeypatch.setenv("RANK", "0")
    assert distributed.launched() and not distributed.quiet()


def test_a_device_without_a_backend_or_one_gpu_for_all_is_refused(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert distributed.process_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(ValueError, match="no distributed backend for mps"):
        distributed.process_device(torch.device("mps"))
    with pytest.raises(ValueError, match="its own GPU"):
        distributed.process_device(torch.device("cuda", 0))


def test_more_processes_than_a_batch_holds_is_a_one_line_error(
    mnist_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("WORLD_SIZE", "64")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    assert cli.main(["train", "--model", "linear", "--epochs", "1", "--device", "cpu"]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "64 processes need at least 64 images per batch" in captured.err
    monkeypatch.setenv("RANK", "3")  # the other ranks fail alike, silently
    assert cli.main(["train", "--model", "linear", "--epochs", "1", "--device", "cpu"]) == 1
    assert capsys.readouterr().err == ""
