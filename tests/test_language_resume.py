"""A rich-caption run (notebook 11's `RichTask` on notebook 07's one loop) SIGKILLed mid-epoch resumes with
`fit(resume=True, task=RichTask())` and ends with exactly the weights of an uninterrupted run: the batches, the
attributes drawn on them and their captions are regenerated from (seed, epoch), and the done ones skipped.

The killed run is a fresh interpreter that SIGKILLs itself from a callback in the middle of epoch 2 (after a mid-epoch
`last/` was written: ckpt_every=0 saves after every step); resuming and the reference run happen in this process.
Both use one CPU thread, so they are bit-identical across processes."""
import json, signal, subprocess, sys, textwrap

import pytest
import torch

from conftest import torch_threads
from mnist_clip.checkpoint import load_checkpoint, load_model
from mnist_clip.data import DigitData, load_digits
from mnist_clip.language import LanguageConfig, RichTask
from mnist_clip.text_encoder import WordEncoder
from mnist_clip.callbacks import fit

N_TRAIN, BS, EPOCHS, KILL_AT = 1024, 128, 2, 11  # 8 steps per epoch: killed after step 11 of 16, in epoch 2
CFG = dict(text='word', n_train=N_TRAIN, bs=BS, epochs=EPOCHS, prefixes=('a',))

SMALL = '''
def small(d):  # scoring 500 validation and 500 test images keeps the test fast
    return DigitData(d.train_x, d.train_y, d.valid_x[:500], d.valid_y[:500], d.test_x[:500], d.test_y[:500])
'''
exec(SMALL)

KILLED_RUN = SMALL + '''
import os, signal, sys, torch
torch.set_num_threads(1)
from mnist_clip.data import DigitData, load_digits
from mnist_clip.language import LanguageConfig, RichTask
from mnist_clip.callbacks import fit
def kill(s):
    if s.step == {kill_at}: os.kill(os.getpid(), signal.SIGKILL)  # no clean-up, no last save: as a power cut
fit(LanguageConfig(**{cfg!r}), small(load_digits(sys.argv[2], 'cpu')), out=sys.argv[1], task=RichTask(),
      progress=False, ckpt_every=0, callback=kill, device='cpu')
'''

@pytest.fixture(scope='module')
def data(mnist_root): return small(load_digits(mnist_root, 'cpu'))

@pytest.mark.parametrize('text', ['word', 'plus'])  # plus: the MiniLM cache is filled the same way fresh and resumed (`RichTask.ready`)
def test_killed_rich_caption_run_resumes_bit_for_bit(tmp_path, data, mnist_root, text):
    cfg = {**CFG, 'text': text}
    script = tmp_path/'killed.py'
    script.write_text(textwrap.dedent(KILLED_RUN.format(kill_at=KILL_AT, cfg=cfg)))
    p = subprocess.run([sys.executable, str(script), str(tmp_path/'killed'), str(mnist_root)], capture_output=True, text=True, timeout=300)
    assert p.returncode == -signal.SIGKILL, p.stderr[-2000:]
    run = tmp_path/'killed'/'run'
    _, info, _ = load_checkpoint(run/'last', 'cpu', with_state=True)
    assert info['task'] == 'rich' and info['epoch'] == 1 and info['step'] == KILL_AT - 1  # mid-epoch 2
    with torch_threads(1):
        resumed = fit(out=tmp_path/'killed', resume=True, task=RichTask(), data=data, progress=False, device='cpu')
        ref = fit(LanguageConfig(**cfg), data, out=tmp_path/'ref', task=RichTask(), progress=False, ckpt_every=0, device='cpu')
    assert resumed.step == ref.step == EPOCHS * N_TRAIN // BS and resumed.cfg == ref.cfg
    a, b = resumed.model.state_dict(), ref.model.state_dict()
    assert a.keys() == b.keys()
    for k in a: assert torch.equal(a[k], b[k]), f'{k} differs after resuming'
    assert [h['train_loss'] for h in resumed.history] == [h['train_loss'] for h in ref.history]
    for which in ('best', 'last'):  # the one loader opens every checkpoint of the run
        m = load_model(run/which, 'cpu')
        assert type(m.text_encoder) is type(ref.model.text_encoder) and json.dumps(m.config, sort_keys=True) == json.dumps(ref.model.config, sort_keys=True)
        assert text == 'plus' or (type(m.text_encoder) is WordEncoder and m.text_encoder.cfg == ref.model.text_encoder.cfg)
    last = load_model(run/'last', 'cpu').state_dict()
    for k in a: assert torch.equal(last[k], a[k].cpu()), k

def test_resume_refuses_another_task(tmp_path, data):
    with torch_threads(1):
        fit(LanguageConfig(**{**CFG, 'epochs': 1, 'n_train': 256}), data, out=tmp_path, task=RichTask(), progress=False, device='cpu')
        with pytest.raises(ValueError, match="trained on rich captions"): fit(out=tmp_path, resume=True, data=data, progress=False, device='cpu')
