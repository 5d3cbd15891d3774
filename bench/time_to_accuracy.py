"""Time to accuracy: train CLIP recipes side by side and report the training seconds each needs to reach a test accuracy.

A benchmark, not a test: run it on a quiet machine (it prints the load average before and after each recipe).

    python bench/time_to_accuracy.py                                   # every recipe, 60 s each (best: 600 s), seeds 0, 1, 2 (best: 0)
    python bench/time_to_accuracy.py --recipes fast,distinct-ten --budget 30 --seeds 0
    python bench/time_to_accuracy.py --threads 2 --device cpu

Recipes (one process, same data, same device; `mnist_clip.recipe.PRESETS`):
  fast          our fast preset, basic text encoder
  best          our best preset (bigger image tower, affine augmentation, more epochs)
  plus          the fast preset with the plus text encoder (frozen, bundled all-MiniLM-L6-v2)
  seed          the original demo's recipe: batches of 32 cut to one image per digit, cos*0.07 logits, diagonal targets, Adam 1e-3
  distinct-ten  batches of ten distinct digits, raw dot-product logits, diagonal targets, Adam 1e-3
(seed and distinct-ten train fast's encoders: the plain image tower and the basic text encoder, so only the recipe differs)

Training time excludes evaluation: the test set is scored by `train`'s callback `Scorer` on a schedule of training
seconds, and `train` does not count time spent in callbacks. A threshold's time is that of the first evaluation at or above
it, so it can be late by one gap of the schedule. The gaps grow with the time (5% of it, at least 0.1 s, at most 15 s:
0.1, 0.2, ... 2.0, 2.1, 2.205, ...), so every time is late by at most about 5% (or 0.1 s), whether a recipe needs 1 s
or 100 s, and the ratio of two recipes' times is as precise as each of them. (A fixed grid, say every 0.5 s, would
overstate a 1.5 s time by up to a third and a 15 s one by a thirtieth.)

Each recipe trains once per seed (different initial weights and batch order) and the table shows the median over the
seeds of each number (peak memory: the largest). A time to a threshold is a first crossing, and accuracy jumps by a
point or two between evaluations early in training (most of all with `distinct-ten`'s batches of ten), so one seed's
crossing is a noisy draw; each run's times are printed as it ends, and every seed's time to 96% again under the table.
A recipe's first run in the process also pays one-time set-up (oneDNN builds its kernels for the recipe's shapes,
about 0.1 s on a CPU); its later seeds do not.
"""
import argparse, math, os, resource, statistics, sys
from dataclasses import replace

import torch

from mnist_clip.devices import get_device
from mnist_clip.data import load_digits
from mnist_clip.recipe import get_preset
from mnist_clip.compare import Scorer
from mnist_clip.training import train
from mnist_clip.zeroshot import evaluate

THRESHOLDS = (0.90, 0.96, 0.98, 0.99, 0.993, 0.995)
RECIPES = {
    'fast': lambda: get_preset('fast'),
    'best': lambda: get_preset('best'),
    'plus': lambda: get_preset('fast', model=dict(text='plus')),
    'seed': lambda: get_preset('seed'),
    'distinct-ten': lambda: get_preset('distinct-ten'),
}

def eval_times(rel:float=0.05, least:float=0.1, most:float=15.):
    "Training seconds at which to score the test set: each gap `rel` of the time so far, within [`least`, `most`]."
    t = least
    while True:
        yield t
        t += min(max(least, rel * t), most)

def rss_mb() -> float:
    "Resident memory of this process now (Linux), else its peak so far, in MB."
    try: return int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20
    except OSError: return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == 'darwin' else 2**10)

class PeakMemory:
    "`train` callback: the largest resident memory seen (sampled every 20 steps on a CPU; CUDA keeps its own peak)."
    def __init__(self, device): self.device, self.rss0 = device, rss_mb(); self.peak = self.rss0
    def __call__(self, p):
        if p.step % 20 == 0 and self.device.type == 'cpu': self.peak = max(self.peak, rss_mb())

def run(name, data, budget, device, seed=0):
    cfg = replace(RECIPES[name](), seed=seed)
    if device.type == 'cuda': torch.cuda.reset_peak_memory_stats(device)
    clock = Scorer(data.test_x, data.test_y, at=eval_times(), by='seconds', until=budget, start=False)  # test accuracy on a clock
    mem = PeakMemory(device)
    load0 = os.getloadavg()[0]
    r = train(cfg, data=data, device=device, callback=[mem, clock])
    final = r.test['acc'] if r.test else evaluate(r.model, data.test_x, data.test_y, logits=cfg.logits)['acc']
    points = list(zip(clock.seconds, clock.acc)) + [(r.seconds, final)]
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == 'cuda' else max(mem.peak, rss_mb()) - mem.rss0
    hit = {t: next((s for s, a in points if a >= t), None) for t in THRESHOLDS}
    return dict(name=name, seed=seed, points=points, hit=hit, final=final, seconds=r.seconds, eval_s=clock.eval_seconds + r.eval_seconds, ips=r.images / r.seconds,
                mem=peak, finished=r.test is not None, budget=budget, load=(load0, os.getloadavg()[0]), epochs=r.history[-1]['epoch'] if r.history else 0)

def median_run(runs) -> dict:
    "One recipe's runs (one per seed) summarised: the median of each number (a threshold never reached counts as infinitely late), the largest peak memory."
    med = lambda k: statistics.median(r[k] for r in runs)
    hit = {t: statistics.median(math.inf if r['hit'][t] is None else r['hit'][t] for r in runs) for t in THRESHOLDS}
    return dict(name=runs[0]['name'], runs=runs, hit={t: None if math.isinf(s) else s for t, s in hit.items()},
                final=med('final'), seconds=med('seconds'), eval_s=med('eval_s'), ips=med('ips'), mem=max(r['mem'] for r in runs))

def fmt_hit(s, res): return f'{s:.1f}' if s is not None else f"no ({res['seconds']:.0f} s)"

def fmt_times(res) -> str:
    "One run's seconds to each threshold, e.g. '90.0% 0.4, 96.0% 1.1, ..., 99.5% no (16 s)'."
    return ', '.join(f"{t:.1%} {fmt_hit(res['hit'][t], res)}" for t in THRESHOLDS)

def fmt_seeds(res, t=0.96) -> str:
    "Each seed's time to accuracy `t`."
    return ', '.join(f"seed {r['seed']} {fmt_hit(r['hit'][t], r)}" for r in res['runs'])

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--recipes', default=','.join(RECIPES), help=f"comma-separated, from {', '.join(RECIPES)} (default: all)")
    ap.add_argument('--budget', type=float, default=60., help='training seconds per recipe (default 60)')
    ap.add_argument('--budget-best', type=float, default=600., help="training seconds for 'best' (default 600)")
    ap.add_argument('--seeds', default='0,1,2', help="comma-separated seeds: each recipe but 'best' trains once per seed (default 0,1,2)")
    ap.add_argument('--seeds-best', default='0', help="seeds for 'best', whose runs take minutes (default 0)")
    ap.add_argument('--device', default='auto', help="'auto', 'cpu', 'cuda', 'mps'")
    ap.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch\'s choice)')
    ap.add_argument('--data', default=None, help='MNIST root (default: $MNIST_CLIP_DATA or ~/.cache/mnist_clip)')
    a = ap.parse_args(argv)
    names = a.recipes.split(',')
    if bad := [n for n in names if n not in RECIPES]: ap.error(f"unknown recipe(s) {bad}: choose from {', '.join(RECIPES)}")
    try: seeds, seeds_best = ([int(s) for s in v.split(',')] for v in (a.seeds, a.seeds_best))
    except ValueError: ap.error(f"--seeds and --seeds-best take comma-separated whole numbers, e.g. 0,1,2; got {a.seeds!r} and {a.seeds_best!r}")
    if a.threads: torch.set_num_threads(a.threads)
    device = get_device(a.device)
    data = load_digits(a.data, device)
    print(f'device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs; '
          f'load average {os.getloadavg()[0]:.2f}', flush=True)
    results = []
    for n in names:
        runs = []
        for seed in seeds_best if n == 'best' else seeds:
            res = run(n, data, a.budget_best if n == 'best' else a.budget, device, seed)
            runs.append(res)
            print(f"  {n}, seed {seed}: seconds to {fmt_times(res)}; "
                  f"final {res['final']:.2%} after {res['seconds']:.1f} s of training "
                  f"({res['epochs']} epochs, {'finished' if res['finished'] else 'stopped by the budget'}), {res['ips']:,.0f} images/s, "
                  f"load {res['load'][0]:.2f} -> {res['load'][1]:.2f}", flush=True)
        results.append(median_run(runs))
    head = ['recipe'] + [f'{t:.1%}' for t in THRESHOLDS] + ['final acc', 'train s', 'eval s', 'img/s', 'peak MB']
    rows = [[r['name']] + [fmt_hit(r['hit'][t], r) for t in THRESHOLDS] +
            [f"{r['final']:.2%}", f"{r['seconds']:.1f}", f"{r['eval_s']:.1f}", f"{r['ips']:,.0f}", f"{r['mem']:.0f}"] for r in results]
    w = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    print(f'\nTraining seconds to reach each TEST accuracy ("no (N s)": not reached in N s of training); '
          f'medians over seeds {a.seeds} (best: {a.seeds_best})')
    for row in [head, ['-' * n for n in w]] + rows: print(' | '.join(str(x).rjust(n) for x, n in zip(row, w)))
    print("peak MB: " + ('peak GPU memory allocated' if device.type == 'cuda' else 'peak resident memory above the recipe\'s start (sampled)'))
    by = {r['name']: r for r in results}
    if 'fast' in by and 'distinct-ten' in by:
        f, d = by['fast']['hit'][0.96], by['distinct-ten']['hit'][0.96]
        if f is None: print('distinct-ten/fast at 96%: fast did not reach 96%')
        elif d is None: print(f"distinct-ten/fast at 96%: > {by['distinct-ten']['seconds'] / f:.1f}x (distinct-ten did not reach 96% in {by['distinct-ten']['seconds']:.0f} s)")
        else: print(f'distinct-ten/fast at 96%: {d / f:.1f}x')
        for n in ('fast', 'distinct-ten'): print(f'  {n} to 96%: {fmt_seeds(by[n])}')
    if 'fast' in by and 'plus' in by:
        print(f"plus/fast training time: {by['plus']['seconds'] / by['fast']['seconds']:.2f}x")
    return results

if __name__ == '__main__': main()
