#!/usr/bin/env python
"""Captions the model never trained on (notebook 11): each way of training the plus tower alone, then together.

Every run draws neither the test's held-out pairs (`HELD_OUT`) nor the validation split's own (`VALID_PAIRS`), and is
scored on the validation split with its own pairs, new words (`VALID_WORDS`) and frame ('this small numeral seven'):
the test's pairs, words and frame stay for the chosen recipe (`python bench/language.py`). Prints one line per
method, the mean over the seeds: plain digit accuracy, joint accuracy of seen and held-out pairs in the training
words, in new words and in a new frame, and the seconds of one run (training and MiniLM's caption embeddings).

    python bench/transfer.py                       # every method, seeds 0 1 2 (about 20 minutes on 2 cores)
    python bench/transfer.py --seeds 0 --unfreeze  # one seed, and MiniLM's top layer trained too (5 more minutes)
"""
import argparse

import torch

from mnist_clip.data import load_digits
from mnist_clip.cli import RICH_PRESETS
from mnist_clip.language_eval import TRANSFER_METHODS, transfer_runs, transfer_table
from mnist_clip.text_encoder_plus import freeze_transformer

SHIPPED = {k: v for k, v in RICH_PRESETS['shipped'].items() if k not in ('text', 'synonyms', 'held_out')}
METHODS = TRANSFER_METHODS | {'the shipped recipe': SHIPPED}  # and with enough training: 10 epochs, a wider image tower

class TopLayers:
    "A callback: before training, MiniLM's top `k` layers train too, at `scale` times the learning rate (one-cycle)."
    def __init__(self, k:int=1, scale:float=.01): self.k, self.scale = k, scale
    def before_fit(self, s):
        if s.step: raise RuntimeError("TopLayers builds a fresh optimizer: it starts a run, it cannot resume one")
        te = s.model.text_encoder
        freeze_transformer(te.transformer, self.k)
        te.clear_cache()  # the vectors of a training transformer change: no cache
        te.train()        # and it trains with its dropout, as fine-tuning does
        top = [p for p in te.transformer.parameters() if p.requires_grad]  # frozen when `make_optimizer` ran: add them
        groups = [dict(params=g['params'], weight_decay=g['weight_decay'], lr_scale=1.) for g in s.opt.param_groups]
        groups += [dict(params=[p for p in top if p.ndim >= 2], weight_decay=s.cfg.wd, lr_scale=self.scale),
                   dict(params=[p for p in top if p.ndim < 2], weight_decay=0., lr_scale=self.scale)]
        s.opt = torch.optim.AdamW(groups, lr=s.cfg.lr, weight_decay=s.cfg.wd)
        pct = max(s.cfg.pct_start, 1.5 / s.total_steps)
        s.sched = torch.optim.lr_scheduler.OneCycleLR(s.opt, [s.cfg.lr * g['lr_scale'] for g in groups],
                                                      total_steps=s.total_steps, pct_start=pct)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--methods', nargs='+', default=list(METHODS), choices=list(METHODS), metavar='METHOD')
    ap.add_argument('--unfreeze', action='store_true',
                    help="add a run with MiniLM's top layer trained (lr x 0.01), first seed only")
    ap.add_argument('--device', default=None)
    a = ap.parse_args()
    data = load_digits(device=a.device)
    common = dict(text='plus', synonyms=4)
    res = transfer_runs({m: METHODS[m] for m in a.methods}, data, a.seeds, device=a.device, **common)
    if a.unfreeze:
        res |= transfer_runs({'top MiniLM layer trained, lr x 0.01': {}}, data, a.seeds[:1], device=a.device,
                             callback=TopLayers(1, .01), **common)
    print(f"validation split, mean of seeds {', '.join(map(str, a.seeds))} (MiniLM's top layer: seed {a.seeds[0]}); "
          "joint accuracy; every run 4 phrasings per attribute, 3 epochs unless said")
    transfer_table(res)

if __name__ == '__main__': main()
