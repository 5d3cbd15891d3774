"""Classification throughput (the nearest class caption) of a trained mnist_clip model over the 10,000 MNIST test images.

    python bench/inference.py                      # the shipped model, on the CPU
    python bench/inference.py --checkpoint runs/<run>/best --device cuda --bs 1024 10000
    OMP_NUM_THREADS=1 python bench/inference.py    # one core (fairer while other processes share the CPU)

Timed: `prepare` (mnist_clip.inference: value range, inversion check, standardising) and `classify`
(mnist_clip.zeroshot) on the uint8 test images: the image tower in batches of `bs`, the similarities with the ten caption embeddings (computed once
before timing, as a deployed classifier would) and the softmax/argmax - without gradients, best of
`--repeats` passes. 'folded' is the model after `fold_batchnorm` (BatchNorm folded into the convolutions, weights
channels-last), 'as trained' the model straight from `load_model`.
"""
import argparse, time

import torch

from mnist_clip.mnist_files import load_split
from mnist_clip.checkpoint import PRETRAINED_DIR, load_model
from mnist_clip.inference import embed_texts
from mnist_clip.devices import fold_batchnorm
from mnist_clip.pictures import prepare
from mnist_clip.zeroshot import classify


def sync(device):
    if device.type == 'cuda': torch.cuda.synchronize()

def bench(model, x, y, bs:int, repeats:int=3) -> tuple:
    "Best images/s over `repeats` passes over `x`, and the accuracy."
    txt, dev = embed_texts(model), next(model.parameters()).device  # (n_classes, D), once
    classify(model, prepare(x[:bs]), txt, bs=bs)                    # warm-up: allocations, oneDNN kernels
    best = 0.
    for _ in range(repeats):
        sync(dev); t0 = time.perf_counter()
        pred, _ = classify(model, prepare(x), txt, bs=bs)
        sync(dev); best = max(best, len(x) / (time.perf_counter() - t0))
    return best, (pred.cpu() == y).float().mean().item()

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--checkpoint', default=None, help='checkpoint folder (default: the shipped model)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--bs', type=int, nargs='+', default=[256, 1024, 2048, 4096, 10000])
    p.add_argument('--repeats', type=int, default=5)
    a = p.parse_args()
    plain, folded = load_model(a.checkpoint, a.device), fold_batchnorm(load_model(a.checkpoint, a.device))
    x, y = load_split('test')
    print(f"{a.checkpoint or PRETRAINED_DIR}: {sum(p.numel() for p in plain.parameters()):,} parameters")
    print(f"torch {torch.__version__}, device {a.device}, {torch.get_num_threads()} threads, {len(x):,} test images, best of {a.repeats}")
    print(f"{'batch size':>10} | {'folded img/s':>12} | {'as trained img/s':>16} | accuracy")
    print(f"{'-' * 10}-+-{'-' * 12}-+-{'-' * 16}-+---------")
    for bs in a.bs:
        (fast, acc), (slow, _) = bench(folded, x, y, bs, a.repeats), bench(plain, x, y, bs, a.repeats)
        print(f'{bs:>10} | {fast:>12,.0f} | {slow:>16,.0f} | {acc:.2%}', flush=True)

if __name__ == '__main__': main()
