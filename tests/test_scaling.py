"Scaling out (notebook 12): gathered negatives give one process's loss and gradients; the torchrun command trains, survives SIGKILL, and says what is wrong with a bad launch."
import json, os, signal, subprocess, sys, time

import pytest
import torch

from conftest import command_env, raises
from mnist_clip.recipe import TrainConfig, recipe_loss
from mnist_clip.scaling import LaunchError, check_batch, equivalence, launch_env, shard_batches, sigmoid_loss

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
    one = [yb for _, yb in shard_batches(x, y, 12, seed=3, epoch=1)]
    parts = [[yb for _, yb in shard_batches(x, y, 12, r, 3, seed=3, epoch=1)] for r in range(3)]
    assert len(one) == 8 and all(torch.equal(torch.cat([p[s] for p in parts]), one[s]) for s in range(8))
    assert [yb.tolist() for _, yb in shard_batches(x, y, 12, 1, 3, seed=3, epoch=1, start=5)] == [b.tolist() for b in parts[1][5:]]

def test_launch_environment_errors():
    full = dict(RANK='1', WORLD_SIZE='2', LOCAL_RANK='1', MASTER_ADDR='localhost', MASTER_PORT='29500')
    assert launch_env({}) is None and launch_env(full) == dict(rank=1, world=2, local_rank=1)
    with raises(LaunchError, 'LOCAL_RANK, MASTER_ADDR, MASTER_PORT missing', 'torchrun'): launch_env(dict(RANK='0', WORLD_SIZE='2'))
    with raises(LaunchError, 'RANK < WORLD_SIZE=2'): launch_env({**full, 'RANK': '2'})
    with raises(LaunchError, 'whole numbers'): launch_env({**full, 'WORLD_SIZE': 'two'})
    with raises(LaunchError, 'not a multiple of the 3 processes', '--bs 255 or 258'): check_batch(256, 3)

def _scale(*args, env, cwd, **kw):
    return subprocess.Popen([sys.executable, '-m', 'mnist_clip.scaling', *map(str, args)], env=env, cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)

def test_bad_launch_is_one_line(tmp_path, tiny_root):
    env = command_env(MNIST_CLIP_DATA=tiny_root, RANK=0, WORLD_SIZE=2)
    out, err = _scale('--epochs', 1, env=env, cwd=tmp_path).communicate(timeout=120)
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith('mnist_clip.scaling: error: inconsistent launch environment') and 'torchrun' in lines[0], err

def test_torchrun_two_processes_killed_then_resumed(tmp_path, tiny_root):
    "2 processes (gloo) train; the whole job is SIGKILLed mid-epoch; --resume finishes it with rank 0's checkpoints."
    env = command_env(MNIST_CLIP_DATA=tiny_root)
    args = ['--epochs', 3, '--bs', 32, '--out', tmp_path/'runs', '--name', 'two', '--ckpt_every', 0]
    torchrun = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', '-m', 'mnist_clip.scaling']
    job = subprocess.Popen(torchrun + [str(a) for a in args], env=env, cwd=tmp_path, text=True, start_new_session=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    info, t0 = tmp_path/'runs'/'two'/'last'/'training.json', time.time()
    try:
        while time.time() - t0 < 120 and job.poll() is None:  # 512 images, bs 32: 16 steps an epoch
            try: i = json.loads(info.read_text())
            except (OSError, ValueError): i = {}
            if i.get('epoch') == 1 and i.get('batch', 0) >= 3: break
            time.sleep(0.05)
        assert job.poll() is None, f'finished before it could be killed:\n{job.communicate()[1][-2000:]}'
        os.killpg(job.pid, signal.SIGKILL)  # torchrun and both workers, at once
        job.wait()
    finally:
        if job.poll() is None: os.killpg(job.pid, signal.SIGKILL)
    killed_at = json.loads(info.read_text())
    assert killed_at['step'] < 48 and killed_at['world'] == 2
    r = subprocess.run(torchrun + ['--resume', '--out', str(tmp_path/'runs'), '--name', 'two'], env=env, cwd=tmp_path,
                       text=True, capture_output=True, timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'test zero-shot accuracy' in r.stdout
    done = json.loads(info.read_text())
    assert (done['epoch'], done['step']) == (3, 48) and done['metrics']['test']['acc'] > 0.3, done
    assert (tmp_path/'runs'/'two'/'best'/'model.safetensors').is_file()
