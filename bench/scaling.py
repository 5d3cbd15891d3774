"""Scaling out (notebook 12): batch size at equal time, softmax vs sigmoid, and one process vs two (torchrun) on the fast recipe.

A benchmark, not a test: run it on a quiet machine (it prints the load average). Every table line is one training run.

    python bench/scaling.py                      # CPU: sweep bs 16..1024 at 20 s each, both losses; fast recipe 1 vs 2 processes; SigLIP fast
    python bench/scaling.py --quick              # about 4 minutes on a GPU (sweep at 5 s, bs 64..1024)
    python bench/scaling.py --device cuda --quick --nproc 1   # a one-GPU machine: the torchrun run uses one process (nccl)

Parts:
  sweep      accuracy (validation) after the same training time for each batch size, softmax and sigmoid loss;
             each run gets a one-cycle schedule of as many steps as fit in the time (`equal_time` below)
  processes  the fast recipe (3 epochs, global batch 256) in one process, then this script under `torchrun --nproc_per_node N`
             (`train` with `GatheredTask` and `Distributed`: gloo on the CPU, nccl on GPUs): test accuracy and training seconds
  siglip     the fast recipe with loss='sigmoid': test accuracy (target >= 99.0%)
Two processes on a two-core CPU are no faster than one: each process gets one core instead of two, and every step
adds an all-gather and an all-reduce. The gain comes with one device per process (see notebook 12).
"""
import argparse, math, os, re, subprocess, sys, tempfile, time
from dataclasses import replace

import torch

from mnist_clip.devices import get_device
from mnist_clip.data import load_digits
from mnist_clip.recipe import TrainConfig, get_preset
from mnist_clip.scaling import Distributed, GatheredTask, setup
from mnist_clip.callbacks import fit
from mnist_clip.training import TrainState, train

def scaled(bs:int, loss:str='softmax', lr:float=0.02, base:int=256, **kw) -> TrainConfig:
    "The `fast` recipe at batch size `bs`, its learning rate scaled by sqrt(bs / base) (the usual rule for Adam)."
    return get_preset('fast', bs=bs, lr=lr * math.sqrt(bs / base), loss=loss, **kw)

def equal_time(cfg:TrainConfig, seconds:float, data, device=None) -> TrainState:
    "Train `cfg` (one process) for about `seconds`: time 6 steps, then a one-cycle schedule over as many steps as fit, so every run ends annealed."
    t = train(replace(cfg, epochs=1, n_train=6 * cfg.bs), data, device=device)
    steps = max(2, round(seconds * t.step / t.seconds))
    epochs = math.ceil(steps * cfg.bs / len(data.train_y))  # more steps than one pass holds: several epochs of equal share
    return train(replace(cfg, epochs=epochs, n_train=steps // epochs * cfg.bs), data, device=device)

def worker(device:str, out:str, epochs:int, bs:int):
    "What each process of the torchrun run executes: `train` with the gathered loss; rank 0 prints one line for `torchrun` to parse."
    env = setup(device)
    try:
        r = fit(get_preset('fast', epochs=epochs, bs=bs), out=out, name=f'n{env.world}', device=env.device, progress=False,
                  task=GatheredTask(), callback=[Distributed()])
        if env.rank == 0: print(f"test {r.test['acc']:.2%} ({r.seconds:.1f} s training, {env.world} processes)", flush=True)
    finally:
        if env.world > 1: torch.distributed.destroy_process_group()

def load() -> str: return ' '.join(f'{v:.2f}' for v in os.getloadavg())

def torchrun(nproc:int, device:str, out:str, epochs:int, bs:int) -> tuple:
    "`(test accuracy, training seconds, wall seconds)` of this script's `--worker` under `torchrun --nproc_per_node nproc`."
    env = {**os.environ, 'OMP_NUM_THREADS': str(max(1, (os.cpu_count() or 2) // nproc))}
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', str(nproc), os.path.abspath(__file__),
           '--worker', '--device', device, '--out', out, '--epochs', str(epochs), '--bs', str(bs)]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode: sys.exit(f"torchrun failed:\n{r.stderr[-3000:]}")
    last = [l for l in r.stdout.splitlines() if l.startswith('test')][-1]
    return float(re.search(r'test ([\d.]+)%', last)[1]) / 100, float(re.search(r'\(([\d.]+) s training', last)[1]), time.perf_counter() - t0

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--device', default='auto', help="'auto', 'cpu' or 'cuda'")
    ap.add_argument('--quick', action='store_true', help='short sweep (5 s per run, bs 64..1024): about 4 minutes on a GPU')
    ap.add_argument('--seconds', type=float, help='training seconds per sweep run (default 20; --quick 5)')
    ap.add_argument('--nproc', type=int, default=2, help='processes of the torchrun run (on GPUs: at most the GPU count)')
    ap.add_argument('--threads', type=int, default=0, help='torch threads of the one-process runs (0: all cores)')
    ap.add_argument('--parts', default='sweep,processes,siglip')
    ap.add_argument('--worker', action='store_true', help='internal: one process of the torchrun run')
    ap.add_argument('--out', help='internal (--worker): run folder')
    ap.add_argument('--epochs', type=int, default=3, help='internal (--worker): epochs')
    ap.add_argument('--bs', type=int, default=256, help='internal (--worker): global batch size')
    a = ap.parse_args()
    if a.worker: return worker(a.device, a.out, a.epochs, a.bs)
    dev = get_device(a.device)
    if a.threads: torch.set_num_threads(a.threads)
    secs = a.seconds or (5. if a.quick else 20.)
    sizes = (64, 256, 1024) if a.quick else (16, 32, 64, 128, 256, 512, 1024)
    parts = a.parts.split(',')
    print(f'device {dev} ({torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"{os.cpu_count()} cores, {torch.get_num_threads()} threads"}); load {load()}', flush=True)
    data = load_digits(device=dev)
    if 'sweep' in parts:
        print(f'\n## accuracy after {secs:g} s of training (validation, one process, lr 0.02 * sqrt(bs / 256))')
        print(f"{'bs':>5} {'loss':>8} {'steps':>6} {'seconds':>8} {'valid':>7}")
        for bs in sizes:
            for loss in ('softmax', 'sigmoid'):
                r = equal_time(scaled(bs, loss), secs, data, dev)
                print(f"{bs:>5} {loss:>8} {r.step:>6} {r.seconds:>8.1f} {r.history[-1]['valid']['acc']:>7.2%}", flush=True)
    if 'processes' in parts:
        print(f'\n## fast recipe (3 epochs, global batch 256): one process vs torchrun --nproc_per_node {a.nproc}; load {load()}')
        r = train(get_preset('fast'), data, device=dev)
        print(f"{'processes':>9} {'test':>7} {'train s':>8} {'wall s':>7}")
        print(f"{'1 (here)':>9} {r.test['acc']:>7.2%} {r.seconds:>8.1f} {'':>7}", flush=True)
        with tempfile.TemporaryDirectory() as out:
            acc, s, wall = torchrun(a.nproc, dev.type, out, 3, 256)
        print(f"{a.nproc:>9} {acc:>7.2%} {s:>8.1f} {wall:>7.1f}   (wall: start-up, data loading and evaluation included)", flush=True)
    if 'siglip' in parts:
        print(f'\n## SigLIP: fast recipe with the sigmoid loss (one process); load {load()}')
        r = train(get_preset('fast', loss='sigmoid'), data, device=dev)
        print(f"test {r.test['acc']:.2%} after {r.seconds:.1f} s of training; learned scale {r.model.scale().item():.1f}, bias {r.model.logit_bias.item():.2f}")
    print(f'\nload {load()}')

if __name__ == '__main__': main()
