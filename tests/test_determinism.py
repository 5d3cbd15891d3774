"""The same seed on the CPU trains the same model: identical weights (every tensor, bit for bit) and identical metrics;
a different seed trains a different one. Runs in-process on a tiny `DigitData` (8 steps an epoch), with the random
affine augmentation on so that its draws are covered too. (test_interrupt checks the same across processes and resumes.)"""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from conftest import torch_threads, untimed
from mnist_clip.image_encoder import ImageEncoder
from mnist_clip.recipe import get_preset
from mnist_clip.training import train

@pytest.fixture(scope='module')
def runs(tiny_data):
    "Three short runs: seed 0 twice, seed 1 once."
    def run(seed):
        with torch_threads(1):
            r = train(get_preset('fast', epochs=2, bs=32, seed=seed, augment='affine'), data=tiny_data, device='cpu')
        return dict(weights=r.model.state_dict(), history=untimed(r.history), test=r.test, step=r.step)
    return run(0), run(0), run(1)

def test_same_seed_same_weights_and_metrics(runs):
    a, b, _ = runs
    assert a['weights'].keys() == b['weights'].keys()
    for k in a['weights']: assert torch.equal(a['weights'][k], b['weights'][k]), f'{k} differs between two runs with seed 0'
    assert a['history'] == b['history'] and a['test'] == b['test'] and a['step'] == b['step'] == 16
    assert len(a['history']) == 2 and {'valid', 'train_loss', 'lr', 'logit_scale'} <= a['history'][0].keys()

def test_different_seed_different_weights(runs):
    a, _, c = runs
    differ = [k for k in a['weights'] if a['weights'][k].is_floating_point() and not torch.equal(a['weights'][k], c['weights'][k])]
    assert 'image_encoder.head.weight' in differ and 'text_encoder.embed.weight' in differ, differ
    assert a['history'][0]['train_loss'] != c['history'][0]['train_loss']

def test_residual_shortcuts_avoid_onednns_strided_1x1_convolution():
    """The default tower's shortcuts halve the grid with a 1x1 conv. Done as a strided conv, its weight gradient went
    through oneDNN's strided 1x1 kernel, which writes past its workspace on AVX-512 CPUs in channels-last with fewer
    input channels than its block of 16 (oneDNN issue 6035): training the `shipped` recipe aborted with 'corrupted size
    vs. prev_size'. The shortcut takes every other pixel first and convolves at stride 1: the same numbers."""
    enc = ImageEncoder().eval()
    assert not [m for m in enc.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) and m.stride != (1, 1)]
    block = enc.stages[0][0]                                        # 8 -> 16 channels, 14x14 -> 7x7
    x = torch.randn(4, 8, 14, 14)
    conv, bn = block.shortcut
    strided = F.relu(block.convs(x) + bn(F.conv2d(x, conv.weight, stride=2)))   # the block as a strided 1x1 conv
    torch.testing.assert_close(block(x), strided, atol=1e-6, rtol=0)
