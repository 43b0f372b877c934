"""Train one of the book's models on MNIST with DistributedDataParallel.

torchrun starts one copy of this script per process and tells each its
rank and the world size; the same file is written for CPUs (gloo), GPUs
(nccl) and several machines (the tests run it with gloo, on CPUs):

    torchrun --nproc-per-node 2 -m mnist_tutorial.train_ddp
    torchrun --nproc-per-node gpu -m mnist_tutorial.train_ddp --backend nccl
    torchrun --nnodes 2 --nproc-per-node 1 --rdzv-id JOB \\
        --rdzv-backend c10d --rdzv-endpoint HOST:PORT \\
        -m mnist_tutorial.train_ddp
"""

import argparse
import os

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

import mnist_tutorial as mt


def parse_args() -> argparse.Namespace:
    """Read the options; bad ones stop every process with a usage line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["gloo", "nccl"], default="gloo")
    parser.add_argument("--model", choices=list(mt.MODELS), default="linear")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)  # per process
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--train-size", type=int, help="first N images")
    parser.add_argument("--seed", type=int, default=mt.DEFAULT_SEED)
    parser.add_argument("--save", help="where rank 0 writes the weights")
    args = parser.parse_args()
    if args.backend == "nccl" and not torch.cuda.is_available():
        parser.error("--backend nccl needs CUDA GPUs; use gloo on CPUs")
    if min(args.epochs, args.batch_size, args.train_size or 1) < 1:
        parser.error("--epochs, --batch-size and --train-size must be >= 1")
    return args


def main() -> None:
    """Train, log and save from rank 0, and leave the process group."""
    args = parse_args()
    dist.init_process_group(args.backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    if args.backend == "nccl":
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")

    # Every process loads the same images; the sampler picks its shard.
    train, val = mt.hold_out(mt.load_split(True), 5000)
    train = train[: args.train_size]
    dataset = TensorDataset(train.images, train.labels)
    sampler = DistributedSampler(dataset, shuffle=True, seed=args.seed)
    loader = DataLoader(dataset, batch_size=args.batch_size, sampler=sampler)

    torch.manual_seed(args.seed)  # the same first weights in every process
    model = mt.build_model(args.model).to(device)
    ddp = DistributedDataParallel(model)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=args.lr)
    if rank == 0:
        print(
            f"{world} processes ({args.backend}), {len(train)} images, "
            f"{len(loader)} steps per epoch of {args.batch_size} "
            f"images per process ({world * args.batch_size} in all)",
            flush=True,
        )

    for epoch in range(1, args.epochs + 1):
        sampler.set_epoch(epoch)  # a new shuffle, the same in every process
        ddp.train()
        total = torch.zeros(2, device=device)  # summed loss, images
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            loss = F.nll_loss(ddp(images), labels)
            optimizer.zero_grad()
            loss.backward()  # DDP averages the gradients across processes
            optimizer.step()
            total[0] += loss.detach() * len(labels)
            total[1] += len(labels)
        dist.all_reduce(total)  # the sum over all processes, in each
        if rank == 0:
            held = mt.Split(val.images.to(device), val.labels.to(device))
            result = mt.evaluate(model, mt.TensorBatches(held, 1000))
            mean = total[0] / total[1]
            accuracy = f"validation accuracy {result.accuracy:.2%}"
            print(f"epoch {epoch}  train loss {mean:.4f}  {accuracy}")

    if rank == 0 and args.save:
        # model is ddp.module: its keys lack DDP's "module." prefix
        torch.save(model.state_dict(), args.save)
        print(f"rank 0 saved {args.save}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
