"Scaling out (notebook 12): gathered negatives give one process's loss and gradients; two processes under torchrun train through `train`, survive SIGKILL and resume to the same weights."
import json, os, signal, subprocess, sys, time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import command_env, raises
from distributed_harness import equivalence
from mnist_clip.clip import sigmoid_loss
from mnist_clip.data import batches
from mnist_clip.recipe import TrainConfig, recipe_loss
from mnist_clip.scaling import GatheredTask, LaunchError, check_batch, launch_env, setup

EXACT = 1e-10  # float64: what is left is rounding

@pytest.mark.parametrize('world', [2, 3])
def test_gathered_equals_one_process(world, one_thread):
    "Loss and every parameter's gradient, N processes (gloo, CPU) vs one process on the concatenated batch; without the gather's gradient they differ."
    d = equivalence(world)
    for (variant, train), diff in d.items():
        if 'no grad' in variant: assert diff > 1e-3, f'{variant}: a gather without gradients should give other gradients, max diff {diff:.2e}'
        else: assert diff < EXACT, f'{variant} (train={train}) differs from one process by {diff:.2e}'

def test_sigmoid_loss_against_a_loop():
    g = torch.Generator().manual_seed(0)
    logits, yi, yt = torch.randn(5, 7, generator=g, dtype=torch.float64), torch.tensor([1, 1, 2, 3, 1]), torch.tensor([1, 2, 2, 0, 3, 1, 9])
    ref = 0.
    for i in range(5):
        for j in range(7):
            z = 1. if yi[i] == yt[j] else -1.
            ref -= torch.log(1 / (1 + torch.exp(-z * logits[i, j]))).item()
    assert abs(sigmoid_loss(logits, yi, yt).item() - ref / 5) < EXACT
    assert abs(recipe_loss(logits[:5, :5], yi, loss='sigmoid', bias=torch.tensor(0.)).item() - sigmoid_loss(logits[:5, :5], yi).item()) < EXACT
    with raises(ValueError, 'logit bias'): recipe_loss(logits[:5, :5], yi, loss='sigmoid')
    with raises(ValueError, "logits='learned'"): TrainConfig(loss='sigmoid', logits='dot')

def test_shards_cover_the_global_batches():
    x, y = torch.arange(100, dtype=torch.uint8)[:, None, None].expand(100, 28, 28).contiguous(), torch.arange(100)
    one = [yb for _, yb in batches(x, y, 12, seed=3, epoch=1, drop_last=True)]
    parts = [[yb for _, yb in batches(x, y, 12, seed=3, epoch=1, rank=r, world=3)] for r in range(3)]
    assert len(one) == 8 and all(torch.equal(torch.cat([p[s] for p in parts]), one[s]) for s in range(8))

def test_launch_environment_errors(monkeypatch):
    full = dict(RANK='1', WORLD_SIZE='2', LOCAL_RANK='1', MASTER_ADDR='localhost', MASTER_PORT='29500')
    assert launch_env({}) is None and launch_env(full) == dict(rank=1, world=2, local_rank=1)
    with raises(LaunchError, 'LOCAL_RANK, MASTER_ADDR, MASTER_PORT missing', 'torchrun'): launch_env(dict(RANK='0', WORLD_SIZE='2'))
    with raises(LaunchError, 'RANK < WORLD_SIZE=2'): launch_env({**full, 'RANK': '2'})
    with raises(LaunchError, 'whole numbers'): launch_env({**full, 'WORLD_SIZE': 'two'})
    with raises(LaunchError, 'not a multiple of the 3 processes', '--bs 255 or 258'): check_batch(256, 3)
    monkeypatch.setenv('RANK', '0'); monkeypatch.setenv('WORLD_SIZE', '2')
    with raises(LaunchError, 'inconsistent launch environment'): setup('cpu')
    for k in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT'): monkeypatch.delenv(k, raising=False)
    assert tuple(setup('cpu')) == (0, 1, torch.device('cpu')) and GatheredTask().name == 'digits'

TORCHRUN = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--monitor-interval', '0.1', '--nproc_per_node', '2',
            str(Path(sys.executable).parent/'mnist_clip_train')]  # the real command; torchrun checks its workers every 0.1 s, not 5 s
RUN = ['--epochs', '2', '--bs', '64', '--n_train', '512', '--device', 'cpu', '--ckpt_every', '0', '--quiet']  # 8 steps an epoch

def _two(out, name, *args, env, **kw):
    return subprocess.Popen(TORCHRUN + ['--out', str(out), '--name', name, *args], env=env, cwd=out, text=True, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)

def test_two_processes_killed_then_resumed_to_the_same_weights(tmp_path, tiny_root):
    "2 processes (gloo) train through `train`; the whole job is SIGKILLed mid-epoch; resume=True ends with the weights of an uninterrupted run."
    env = command_env(MNIST_CLIP_DATA=tiny_root, OMP_NUM_THREADS=1)
    ref = _two(tmp_path, 'ref', *RUN, env=env)
    out, err = ref.communicate(timeout=240)
    assert ref.returncode == 0, err[-3000:]
    assert 'run folder: ' in out and '(2 processes;' in out and 'test accuracy:' in out, out  # rank 0 speaks, once
    assert json.loads((tmp_path/'ref'/'last'/'training.json').read_text())['step'] == 16  # 512 images, global batch 64, 2 epochs
    job, info, t0 = _two(tmp_path, 'two', *RUN, env=env), tmp_path/'two'/'last'/'training.json', time.time()
    try:
        while time.time() - t0 < 120 and job.poll() is None:
            try: i = json.loads(info.read_text())
            except (OSError, ValueError): i = {}
            if i.get('step', 0) >= 11: break  # in epoch 2, after an evaluation
            time.sleep(0.02)
        assert job.poll() is None, f'finished before it could be killed:\n{job.communicate()[1][-2000:]}'
        os.killpg(job.pid, signal.SIGKILL)  # torchrun and both workers, at once
        job.wait()
    finally:
        if job.poll() is None: os.killpg(job.pid, signal.SIGKILL)
    killed_at = json.loads(info.read_text())
    assert 11 <= killed_at['step'] < 16 and killed_at['world'] == 2, killed_at
    r = _two(tmp_path, 'two', '--resume', '--quiet', '--device', 'cpu', env=env)
    out, err = r.communicate(timeout=240)
    assert r.returncode == 0, err[-3000:]
    assert json.loads(info.read_text())['step'] == 16 and out.count('test accuracy:') == 1, out
    a, b = load_file(tmp_path/'two'/'last'/'model.safetensors'), load_file(tmp_path/'ref'/'last'/'model.safetensors')
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]
