"""Training killed with SIGKILL at any moment - mid-step, inside a checkpoint write, between the two renames that publish
it - resumes with `mnist_clip_train --resume`, every checkpoint on disk loads at every moment, and the end result is
bit for bit the result of one uninterrupted run with the same seed.

The killed runs are the real command (`mnist_clip_train` with argv) forked from the command server (conftest.py);
the three kills that must land at an exact place get a test-only prelude that SIGKILLs the process there.
The uninterrupted reference runs the installed console script in a fresh interpreter, in parallel.
Random moments come from MNIST_CLIP_KILL_SEED (printed on failure; set it to replay a run)."""
import json, os, random, time

import torch
from safetensors.torch import load_file

from conftest import N_TRAIN, command_env, finish, start_real, untimed
from mnist_clip import checkpoint as ck

BS, EPOCHS = 64, 2
SPE = N_TRAIN // BS  # 8 steps per epoch, 16 in all

def kill_at_step(k):
    "Prelude: SIGKILL in the middle of the k-th training step of this process."
    return f'''
import os, signal, mnist_clip.training as _tr
_bl, _n = _tr.batch_loss, [0]
def _batch_loss(*a, **kw):
    _n[0] += 1
    if _n[0] == {k}: os.kill(os.getpid(), signal.SIGKILL)
    return _bl(*a, **kw)
_tr.batch_loss = _batch_loss
'''

# SIGKILL inside the first save of a trainer state from epoch 1 on: its files are in last.tmp, not yet fsynced or renamed
KILL_IN_WRITE = '''
import os, signal, mnist_clip.checkpoint as _ck
_save_state = _ck.save_state
def _killing_save_state(state, folder, *a, **kw):
    _save_state(state, folder, *a, **kw)
    if state['epoch'] >= 1: os.kill(os.getpid(), signal.SIGKILL)
_ck.save_state = _killing_save_state
'''

# SIGKILL between the two renames of atomic_dir: last -> last.old done, last.tmp -> last not yet
KILL_BETWEEN_RENAMES = '''
import json, os, signal
from pathlib import Path
_replace = os.replace
def _killing_replace(src, dst, *a, **kw):
    src, dst = Path(src), Path(dst)
    if (src.name == 'last.tmp' and Path(str(dst) + '.old').exists()
        and json.loads((src/'training.json').read_text())['epoch'] >= 1): os.kill(os.getpid(), signal.SIGKILL)
    return _replace(src, dst, *a, **kw)
os.replace = _killing_replace
'''

def check_on_disk(run, why):
    "Every checkpoint of `run` loads now: `last` always (it is written before the first step), `best` once it exists."
    found = {}
    for name in ('last', 'best'):
        for p in (run/name, run/f'{name}.old'):  # a published folder is always whole
            if p.exists(): assert {'config.json', 'model.safetensors', 'training.json'} <= {f.name for f in p.iterdir()}, (why, p)
        try: p = ck.find_checkpoint(run/name)
        except ck.CheckpointError:
            assert name == 'best', f'{why}: no loadable last checkpoint in {run}: {sorted(os.listdir(run))}'
            continue
        ck.load_model(p)
        ck.load_model(run/name, 'cpu')
        _, info, state = ck.load_checkpoint(run/name, 'cpu', with_state=name == 'last')
        found[name] = info
    return found

def tensors_equal(a, b, what):
    assert a.keys() == b.keys(), what
    for k in a: assert torch.equal(a[k], b[k]), f'{what}: {k} differs'

def flat_tensors(obj, out, key=''):
    if isinstance(obj, torch.Tensor): out[key] = obj
    elif isinstance(obj, dict): [flat_tensors(v, out, f'{key}.{k}') for k, v in obj.items()]
    elif isinstance(obj, list): [flat_tensors(v, out, f'{key}.{i}') for i, v in enumerate(obj)]
    return out

def test_killed_training_resumes_to_the_same_result(cmds, tiny_root, tmp_path):
    seed = int(os.environ.get('MNIST_CLIP_KILL_SEED') or int.from_bytes(os.urandom(4), 'little'))
    rng, why = random.Random(seed), f'MNIST_CLIP_KILL_SEED={seed}'
    common = ['--data', tiny_root, '--device', 'cpu', '--quiet']
    fresh = ['--epochs', EPOCHS, '--bs', BS, '--seed', 0, '--out', tmp_path/'ref', '--name', 'r', *common]
    # the uninterrupted reference: the installed console script in a fresh interpreter, running alongside
    ref = start_real('mnist_clip_train', *fresh, tmp=tmp_path, env=command_env(MNIST_CLIP_DATA=tiny_root))
    out = tmp_path/'runs'; run = out/'r'
    fresh[fresh.index('--out') + 1] = out
    resume = ['--resume', '--out', out, '--name', 'r', *common]
    try:
        # 1. a random moment after training started (the first checkpoint is written before the first step)
        r = cmds.start('mnist_clip_train', *fresh)
        t0 = time.monotonic()
        while not (run/'last'/'training.json').exists() and r.alive() and time.monotonic() - t0 < 120: time.sleep(.005)
        time.sleep(rng.uniform(0, .3)); r.kill()
        assert r.wait().rc == -9, f'{why}: the run ended before it was killed: {r.wait()}'
        check_on_disk(run, f'{why}, after a kill at a random moment')

        # 2. inside a checkpoint write: last.tmp is half done, last/ is untouched
        r = cmds('mnist_clip_train', *resume, prelude=KILL_IN_WRITE)
        assert r.rc == -9, r
        assert (run/'last.tmp').exists()
        check_on_disk(run, f'{why}, after a kill inside a checkpoint write')

        # 3. between the two renames: only last.old is left, and it is found
        r = cmds('mnist_clip_train', *resume, prelude=KILL_BETWEEN_RENAMES)
        assert r.rc == -9, r
        assert not (run/'last').exists() and (run/'last.old').exists() and ck.find_checkpoint(run/'last') == run/'last.old'
        check_on_disk(run, f'{why}, after a kill between the renames')

        # 4. at a random step of the second epoch, after its checkpoint (resuming without --name: latest_run finds last.old)
        start = ck.load_checkpoint(run/'last', 'cpu')[1]['step']
        k = rng.randint(max(SPE + 1, start + 1), EPOCHS * SPE - 1) - start + 1  # the k-th step of this process
        r = cmds('mnist_clip_train', *[a for a in resume if a not in ('--name', 'r')], prelude=kill_at_step(k))
        assert r.rc == -9, r
        found = check_on_disk(run, f'{why}, after a kill at step {start + k - 1}')
        assert found['last']['epoch'] == 1 and found['last']['step'] == SPE, found  # the last resume starts mid-run

        # 5. resume to the end
        r = cmds('mnist_clip_train', *resume)
        assert r.rc == 0 and 'test accuracy' in r.stdout, r
        check_on_disk(run, f'{why}, at the end')
    except BaseException:
        ref.kill(); ref.communicate(); raise
    done = finish(ref, timeout=300)
    assert done.rc == 0, done.stderr
    assert done.stdout.splitlines()[-1] == r.stdout.splitlines()[-1]  # 'test accuracy: ...%'
    assert not (run/'last.tmp').exists() and not (run/'last.old').exists()

    refrun = tmp_path/'ref'/'r'
    for name in ('best', 'last'):
        tensors_equal(load_file(run/name/'model.safetensors'), load_file(refrun/name/'model.safetensors'), f'{why}: {name} weights')
        a, b = (json.loads((d/name/'training.json').read_text()) for d in (run, refrun))
        assert untimed(a) == untimed(b), why
    a, b = ck.load_state(run/'last'), ck.load_state(refrun/'last')
    assert untimed(a['history']) == untimed(b['history']) and len(a['history']) == EPOCHS, why
    tensors_equal(flat_tensors(a['optimizer'], {}), flat_tensors(b['optimizer'], {}), f'{why}: optimizer state')
    assert a['scheduler'] == b['scheduler'] and a['step'] == b['step'] == EPOCHS * SPE, why
