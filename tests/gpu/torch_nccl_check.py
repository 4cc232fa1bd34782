#!/usr/bin/env python3
"""torch.distributed with backend "nccl" on Braid's libnccl.so.2, every rank on one GPU.

usage: LD_PRELOAD=build/nccl/libnccl.so.2 python3 tests/gpu/torch_nccl_check.py [WORLD_SIZE ...]

For each world size (default 2 and 4) it spawns that many processes sharing cuda:0
(NCCL refuses that; Braid allows it) and checks all-reduce, all-gather,
reduce-scatter, broadcast and one DistributedDataParallel training step against the
same computation done by one process. Inputs are small integers, so every collective
result must be exact; the DDP step's parameters must match to float32 rounding (the
gradient average is summed in another order). Each rank first proves that the NCCL it
runs is Braid's: ncclAllReduce must resolve into the preloaded library.
Exit status 0 only if every check in every world size passed; no GPU exits 77.
"""
import os
import sys
import tempfile

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

SKIP = 77


def rank_input(rank, n, dtype):
    # Distinct small integers per rank and element: sums and products stay exact.
    return (torch.arange(n, dtype=torch.int64) % 7 + rank + 1).to(dtype)


def nccl_provider():
    """The file that torch's calls to ncclAllReduce bind to (global symbol lookup).

    torch also loads NVIDIA's libnccl.so.2 by its full path, so both are mapped; the
    preloaded library comes first in the lookup and serves every call."""
    import ctypes
    addr = ctypes.cast(ctypes.CDLL(None).ncclAllReduce, ctypes.c_void_p).value
    with open("/proc/self/maps") as maps:
        for line in maps:
            span, *rest = line.split()
            lo, hi = (int(x, 16) for x in span.split("-"))
            if lo <= addr < hi:
                return rest[-1]
    return "unknown"


def check(cond, what, rank, detail=""):
    if not cond:
        raise AssertionError(f"rank {rank}: {what} {detail}")


def collectives(rank, world, dev):
    n = 1000
    for dtype in (torch.float32, torch.float16, torch.bfloat16, torch.int32, torch.int64):
        x = rank_input(rank, n, dtype).to(dev)
        dist.all_reduce(x, op=dist.ReduceOp.SUM)
        want = sum(rank_input(r, n, torch.int64) for r in range(world)).to(dtype)
        check(torch.equal(x.cpu(), want), f"all_reduce sum {dtype}", rank)

        x = rank_input(rank, n, dtype).to(dev)
        dist.all_reduce(x, op=dist.ReduceOp.MAX)
        check(torch.equal(x.cpu(), rank_input(world - 1, n, dtype)), f"all_reduce max {dtype}", rank)

        out = torch.empty(world * n, dtype=dtype, device=dev)
        dist.all_gather_into_tensor(out, rank_input(rank, n, dtype).to(dev))
        want = torch.cat([rank_input(r, n, dtype) for r in range(world)])
        check(torch.equal(out.cpu(), want), f"all_gather {dtype}", rank)

        full = [rank_input(r, world * n, dtype) for r in range(world)]
        out = torch.empty(n, dtype=dtype, device=dev)
        dist.reduce_scatter_tensor(out, full[rank].to(dev), op=dist.ReduceOp.SUM)
        want = sum(f.to(torch.int64) for f in full)[rank * n:(rank + 1) * n].to(dtype)
        check(torch.equal(out.cpu(), want), f"reduce_scatter {dtype}", rank)

        root = world - 1
        x = rank_input(rank, n, dtype).to(dev)
        dist.broadcast(x, src=root)
        check(torch.equal(x.cpu(), rank_input(root, n, dtype)), f"broadcast {dtype}", rank)


def model_and_data(world):
    torch.manual_seed(1234)
    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 8))
    data = torch.randn(16 * world, 32)
    target = torch.randn(16 * world, 8)
    return model, data, target


def train_step(model, data, target):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = torch.nn.functional.mse_loss(model(data), target)
    loss.backward()
    opt.step()
    return [p.detach().cpu() for p in model.parameters()]


def ddp_step(rank, world, dev):
    model, data, target = model_and_data(world)
    ddp = torch.nn.parallel.DistributedDataParallel(model.to(dev), device_ids=[dev.index])
    shard = slice(rank * 16, (rank + 1) * 16)
    got = train_step(ddp, data[shard].to(dev), target[shard].to(dev))
    # One process, whole batch: mean loss over the batch = mean of the shards' means.
    ref_model, data, target = model_and_data(world)
    want = train_step(ref_model.to(dev), data.to(dev), target.to(dev))
    for i, (g, w) in enumerate(zip(got, want)):
        check(torch.allclose(g, w, rtol=1e-5, atol=1e-6), f"DDP parameter {i}", rank,
              f"max diff {(g - w).abs().max().item():.3g}")


def worker(rank, world, init_file, preload, results):
    dev = torch.device("cuda", 0)
    torch.cuda.set_device(dev)
    try:
        dist.init_process_group("nccl", init_method=f"file://{init_file}", rank=rank,
                                world_size=world, device_id=dev)
        provider = nccl_provider()
        check(provider == os.path.realpath(preload), "ncclAllReduce is not Braid's", rank, provider)
        collectives(rank, world, dev)
        ddp_step(rank, world, dev)
        dist.barrier()
        dist.destroy_process_group()
        results.put((rank, "ok"))
    except Exception as e:  # reported by the parent, with the rank
        results.put((rank, f"FAILED: {e!r}"))


def run(world, preload):
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    with tempfile.TemporaryDirectory() as tmp:
        procs = [ctx.Process(target=worker, args=(r, world, f"{tmp}/init", preload, results))
                 for r in range(world)]
        for p in procs:
            p.start()
        outcome = {}
        for _ in procs:
            try:
                rank, text = results.get(timeout=300)
            except Exception:
                break
            outcome[rank] = text
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    ok = len(outcome) == world and all(v == "ok" for v in outcome.values())
    for r in range(world):
        print(f"world {world} rank {r}: {outcome.get(r, 'no answer within 300 s')}")
    return ok


def main():
    if not torch.cuda.is_available():
        print("SKIPPED: no GPU")
        return SKIP
    preload = os.environ.get("LD_PRELOAD", "")
    if "libnccl.so" not in preload:
        print("error: set LD_PRELOAD to Braid's libnccl.so.2", file=sys.stderr)
        return 2
    print(f"torch {torch.__version__}, NCCL version reported {torch.cuda.nccl.version()}, "
          f"GPU {torch.cuda.get_device_name(0)}, preload {preload}")
    sizes = [int(a) for a in sys.argv[1:]] or [2, 4]
    ok = all([run(w, preload) for w in sizes])
    print("torch_nccl_check:", "PASSED" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
