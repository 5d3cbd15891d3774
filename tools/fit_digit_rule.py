#!/usr/bin/env python
"""Fit a saved model's not-a-digit rule the way training does for every checkpoint, and write it into its folder.

    python tools/fit_digit_rule.py runs/an-old-run/best

For a folder saved before training fitted rules (an older checkpoint): the rule `train` would have stored,
from the model's own training config and task (`digit_rule` of appendix 16: the task's digits, 1% of the validation
digits refused), written as `not_a_digit.safetensors` beside the weights. The weights are not touched.
"""
import argparse
import json
from pathlib import Path
from types import SimpleNamespace

from mnist_clip.callbacks import digit_rule
from mnist_clip.checkpoint import load_model, save_digit_check
from mnist_clip.data import load_digits
from mnist_clip.language import RichTask
from mnist_clip.training import DigitTask


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('folder', type=Path, help='a model folder: config.json, model.safetensors, training.json')
    folder = p.parse_args().folder
    info = json.loads((folder/'training.json').read_text())
    task = RichTask() if info.get('task', 'digits') == 'rich' else DigitTask()
    cfg = task.config(**info['config'])
    model = load_model(folder, 'cpu')
    data = load_digits(device='cpu', n_valid=cfg.n_valid)
    rule = digit_rule(SimpleNamespace(model=model, data=data, task=task, cfg=cfg))
    save_digit_check(folder, **rule)
    kind = 'nearest training digit' if rule['gallery'] is not None else "the 'not a digit' caption"
    print(f"{folder}: rule by {kind}, threshold {rule['threshold']:.4f}, {rule['chosen_on']}")


if __name__ == '__main__':
    main()
