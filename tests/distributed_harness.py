"Multi-process equivalence harness for notebook 12 (used by tests/test_scaling.py and shown in the notebook): N gloo processes on the CPU against one process on the whole batch."
import math, socket, sys, tempfile
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from mnist_clip.clip import CLIP, clip_loss, sigmoid_loss
from mnist_clip.recipe import TrainConfig
from mnist_clip.scaling import average_gradients, gathered_loss, rank_world

START = 'fork' if sys.platform == 'linux' else 'spawn'  # fork: the workers share this process's imports (seconds saved), and functions of a notebook

def free_port() -> int:
    "A TCP port nobody listens on now, for a process group's rendezvous."
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

VARIANTS = {'softmax': dict(loss='softmax'), 'softmax, no grad': dict(loss='softmax', grad=False),
            'sigmoid': dict(loss='sigmoid'), 'sigmoid, ring': dict(loss='sigmoid', ring=True),
            'sigmoid, no grad': dict(loss='sigmoid', grad=False)}

def tiny(loss:str) -> CLIP:
    "A small CLIP in float64 (differences at 1e-12 are then rounding, not bugs), with a bias for the sigmoid loss."
    torch.manual_seed(0)
    extra = dict(logit_scale_init=math.log(10), logit_bias_init=-10.) if loss == 'sigmoid' else {}
    return CLIP(dim=16, image=dict(stem=4, widths=[8]), text_kwargs=dict(hidden=16), **extra).double()

def grads(model, xb, yb, loss, train, ring=False, grad=True) -> tuple:
    "`(loss over the global batch, {name: gradient})` of this process, after averaging over the processes."
    model.train(train); model.zero_grad()
    l, _ = gathered_loss(model, xb, yb, TrainConfig(loss=loss), ring, grad)
    l.backward(); average_gradients(model)
    l = l.detach().clone(); _, world = rank_world()
    if world > 1: dist.all_reduce(l); l /= world
    return l.item(), {n: torch.zeros_like(p) if p.grad is None else p.grad.clone() for n, p in model.named_parameters()}

def worker(rank:int, world:int, port:int, folder:str):
    "One process: its share of the batch in `folder/batch.pt`; rank 0 writes the results to `folder/out.pt`."
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=world)
    try:
        x, y = torch.load(Path(folder)/'batch.pt', weights_only=True)
        B = len(x) // world
        xb, yb = x[rank * B:(rank + 1) * B], y[rank * B:(rank + 1) * B]
        out = {(v, train): grads(tiny(kw['loss']), xb, yb, train=train, **kw) for v, kw in VARIANTS.items() for train in (False, True)}
        if rank == 0: torch.save(out, Path(folder)/'out.pt')
    finally: dist.destroy_process_group()

def one_process_reference(x, y, loss:str, train:bool, world:int=1) -> tuple:
    "`(loss, {name: gradient})` of one process on the whole batch; in train mode BatchNorm sees `world` equal shards, as each process's does."
    model = tiny(loss).train(train); model.zero_grad()
    img, txt = torch.cat([model.encode_image(xs) for xs in x.chunk(world)]), model.encode_text(y)  # (NB, D) each
    logits = model.scale() * img @ txt.T  # (NB, NB)
    l = clip_loss(logits, y) if loss == 'softmax' else sigmoid_loss(logits + model.logit_bias, y)
    l.backward()
    return l.item(), {n: torch.zeros_like(p) if p.grad is None else p.grad.clone() for n, p in model.named_parameters()}

def equivalence(world:int=2, # processes to start (CPU, gloo, one thread each)
                bs:int=24,   # global batch: random images, labels 0-9 with repeats in and across processes
                seed:int=0) -> dict:
    "Start `world` processes and compare each variant's loss and gradients with one process on the whole batch: `{(variant, train): max abs difference}`."
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(bs, 1, 28, 28, generator=g, dtype=torch.float64), torch.randint(0, 10, (bs,), generator=g)
    with tempfile.TemporaryDirectory() as d:
        torch.save((x, y), Path(d)/'batch.pt')
        mp.start_processes(worker, args=(world, free_port(), d), nprocs=world, start_method=START)
        out = torch.load(Path(d)/'out.pt', weights_only=True)
    diffs = {}
    for (v, train), (l, gs) in out.items():
        rl, rg = one_process_reference(x, y, VARIANTS[v]['loss'], train, world)
        diffs[(v, train)] = max([abs(l - rl)] + [(gs[n] - rg[n]).abs().max().item() for n in rg])
    return diffs
