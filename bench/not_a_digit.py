"""How often a model's not-a-digit rule refuses, on kinds of picture no training run and no threshold ever used.

    python bench/not_a_digit.py                             # the shipped label model before and after 'not a digit'
    python bench/not_a_digit.py --checkpoints runs/a/best runs/b/best
    python bench/not_a_digit.py --fonts /usr/share/fonts/truetype/breip/Breip.ttf

Each model is read with `load_model` and judged by `check_digits`, with the rule its folder carries (appendix 15):
a share of each group is refused. The groups, all from the test side (appendix 15 `non_digits('test')` and friends):
MNIST's test digits; the held-out kinds of non-digit (Greek and Cyrillic letters, symbols, triangles and crosses);
Latin letters in the test fonts and in `--fonts` (fonts no training uses: by default the handwriting and comic fonts
Debian packages as fonts-dkg-handwriting, fonts-breip, fonts-femkeklaver, fonts-rufscript and fonts-comic-neue, where
installed); digits from sources no training uses (drawn on the pad by a script, printed in the test fonts,
photographed, written in `--fonts`); and MNIST test digits changed as the training variety changes them (not a
held-out source: how well training covered them). Accuracy is on MNIST test, among the ten digit captions.
"""
import argparse
from pathlib import Path

import torch

from mnist_clip.checkpoint import DIGITS_ONLY_DIR, PRETRAINED_DIR, load_model
from mnist_clip.data import load_digits
from mnist_clip.nondigit import (CHANGES, FONTS, LATIN, check_digits, degraded, font_digits, non_digits, pad_digits,
                                 photographed, _mnist, glyph)
from mnist_clip.pictures import prepare
from mnist_clip.zeroshot import classify

SYSTEM_FONTS = ['/usr/share/fonts/truetype/fifthhorseman/dkg.ttf', '/usr/share/fonts/truetype/fifthhorseman/dkgIt.ttf',
                '/usr/share/fonts/truetype/breip/Breip.ttf', '/usr/share/fonts/truetype/femkeklaver/femkeklaver.ttf',
                '/usr/share/fonts/truetype/rufscript/Rufscript010.ttf',
                '/usr/share/fonts/opentype/comic-neue/ComicNeue-Regular.otf',
                '/usr/share/fonts/opentype/comic-neue/ComicNeue-LightItalic.otf']


def groups(data, fonts) -> dict:
    "`{group name: pictures}` of every group the table reports."
    nd = non_digits('test')
    g = torch.Generator().manual_seed(7)
    held = {f'held out: {k}': v for k, v in list(nd.items())[4:]}
    out = {'MNIST test digits': data.test_x, **held, 'held out, all kinds': torch.cat(list(held.values())),
           f'letters, test fonts ({len(nd["letters"])})': nd['letters']}
    if fonts:
        letters = _mnist([glyph(c, f, g) for f in fonts for c in LATIN])
        out[f'letters, other fonts ({len(letters)})'] = letters
    out.update({'digits: pad': pad_digits()[0], 'digits: test fonts': font_digits()[0],
                'digits: photographed': photographed(data.test_x[:1000], seed=3)})
    if fonts:
        out[f'digits: other fonts ({10 * 8 * len(fonts)})'] = font_digits(fonts, copies=8, seed=3)[0]
    out.update({f'changed as in training: {h}': degraded(data.test_x[:1000], h, seed=3) for h in CHANGES})
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--checkpoints', nargs='+', default=[str(DIGITS_ONLY_DIR), str(PRETRAINED_DIR)],
                   help='model folders (default: the shipped label model before and after it learned "not a digit")')
    p.add_argument('--fonts', nargs='*', default=None, help='font files no training used (default: Debian handwriting '
                   'and comic fonts, where installed)')
    a = p.parse_args()
    fonts = [f for f in (SYSTEM_FONTS if a.fonts is None else a.fonts) if Path(f).is_file()]
    assert not {Path(f).name for f in fonts} & set(FONTS['train'] + FONTS['valid']), 'a training or validation font'
    torch.manual_seed(0)
    data = load_digits(device='cpu')
    models = {c: load_model(c, 'cpu') for c in a.checkpoints}
    rows = groups(data, fonts)
    names = [Path(c).parent.name if Path(c).name in ('best', 'last') else Path(c).name for c in a.checkpoints]
    print(f'fonts no training used: {", ".join(Path(f).name for f in fonts) or "none installed"}')
    print('| refused | ' + ' | '.join(names) + ' |')
    print('|---|' + '---|' * len(names))
    for k, x in rows.items():
        cells = [f'{sum(not c.ok for c in check_digits(m, x)) / len(x):.1%}' for m in models.values()]
        print(f'| {k} | ' + ' | '.join(cells) + ' |', flush=True)
    acc = [f"{(classify(m, prepare(data.test_x))[0] == data.test_y).float().mean():.2%}" for m in models.values()]
    print('| MNIST test accuracy (ten digit captions) | ' + ' | '.join(acc) + ' |')


if __name__ == '__main__': main()
