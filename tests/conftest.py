import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

def pytest_addoption(parser):
    # `solution`: the worked solutions of the exercises run with every pytest, so that none can rot (`nbdev_test` skips them)
    parser.addoption('--nb-flags', default='solution', help="space-separated notebook test flags to run (default 'solution'; e.g. 'solution slow')")

@pytest.fixture(scope='session')
def nb_flags(request): return request.config.getoption('--nb-flags').split()

@pytest.fixture(scope='session')
def root(): return ROOT

@pytest.fixture(scope='session')
def mnist_root():
    "The MNIST root from $MNIST_CLIP_DATA; skips tests that need real data when it is not set."
    r = os.environ.get('MNIST_CLIP_DATA')
    if not r: pytest.skip('set MNIST_CLIP_DATA to a folder holding MNIST/raw to run this test')
    return Path(r)


# ---------------------------------------------------------------------------------------------------------------------
# Shared by the reliability tests (test_bad_input, test_interrupt, test_determinism, test_security).
# Budget: the whole suite must stay under 5 minutes on an idle 2-core CPU, so everything here is tiny and shared.
import json, shutil, signal, struct, subprocess, sys
from contextlib import contextmanager
from types import SimpleNamespace

VENV_BIN = Path(sys.executable).parent
COMMANDS = {'mnist_clip_train': 'mnist_clip.cli', 'mnist_clip_predict': 'mnist_clip.cli', 'mnist_clip_eval': 'mnist_clip.cli'}
N_TRAIN, N_VALID, N_TEST = 512, 5000, 500  # the tiny data root; `train` always holds out TrainConfig.n_valid=5000

@contextmanager
def torch_threads(n=1):
    "One intra-op thread: bit-identical runs across processes, and no 50x slowdown when the CPU is oversubscribed."
    import torch
    old = torch.get_num_threads(); torch.set_num_threads(n)
    try: yield
    finally: torch.set_num_threads(old)

def write_idx(path, t):
    "Write a uint8 tensor in MNIST's idx format (big-endian header: magic, then each dimension)."
    a = t.numpy().astype('uint8')
    Path(path).write_bytes(struct.pack('>I', 0x0800 | a.ndim) + struct.pack(f'>{a.ndim}I', *a.shape) + a.tobytes())

@pytest.fixture(scope='session')
def mnist(mnist_root):
    "The real MNIST tensors `(train_x, train_y, test_x, test_y)`, uint8 / int64, on the CPU."
    from mnist_clip.mnist_files import load_split
    return (*load_split('train', mnist_root), *load_split('test', mnist_root))

@pytest.fixture(scope='session')
def tiny_root(tmp_path_factory, mnist):
    "A data root in MNIST's raw layout with N_TRAIN + N_VALID training and N_TEST test images: the commands run in seconds."
    x, y, tx, ty = mnist
    root = tmp_path_factory.mktemp('tiny_mnist'); raw = root/'MNIST'/'raw'; raw.mkdir(parents=True)
    n = N_TRAIN + N_VALID
    for name, t in [('train-images-idx3-ubyte', x[:n]), ('train-labels-idx1-ubyte', y[:n]),
                    ('t10k-images-idx3-ubyte', tx[:N_TEST]), ('t10k-labels-idx1-ubyte', ty[:N_TEST])]: write_idx(raw/name, t)
    return root

@pytest.fixture(scope='session')
def tiny_data(mnist):
    "A `DigitData` small enough to train on in-process in about a second (256 train, 200 valid, 200 test images; use bs=32)."
    from mnist_clip.data import DigitData
    x, y, tx, ty = mnist
    return DigitData(x[:256], y[:256], x[256:456], y[256:456], tx[:200], ty[:200])

@pytest.fixture(scope='session')
def trained_run(tmp_path_factory, tiny_data):
    "A run trained once for the session (1 epoch, CPU): `run/best` and `run/last` are real checkpoints. Copy before changing."
    from mnist_clip.recipe import get_preset
    from mnist_clip.callbacks import fit
    out = tmp_path_factory.mktemp('trained')
    with torch_threads(1): fit(get_preset('fast', epochs=1, bs=32), data=tiny_data, out=out, name='tiny', device='cpu', progress=False)
    return out/'tiny'

@pytest.fixture
def ckpt(trained_run, tmp_path):
    "A private copy of the session's trained `best` checkpoint folder, free to damage."
    return Path(shutil.copytree(trained_run/'best', tmp_path/'ckpt'))

def untimed(x):
    "Metrics without the wall-clock fields (seconds, eval_seconds), which differ between any two runs."
    if isinstance(x, dict): return {k: untimed(v) for k, v in x.items() if k not in ('seconds', 'eval_seconds')}
    if isinstance(x, list): return [untimed(v) for v in x]
    return x

@pytest.fixture
def one_thread():
    "Run a test with one torch thread (see `torch_threads`)."
    with torch_threads(1): yield

class raises:
    "`pytest.raises(exc)` that then checks that each of `words` is in the message."
    def __init__(self, exc, *words): self.cm, self.words = pytest.raises(exc), words
    def __enter__(self): self.info = self.cm.__enter__(); return self.info
    def __exit__(self, *exc_info):
        caught = self.cm.__exit__(*exc_info)
        if caught:
            for w in self.words: assert w in str(self.info.value), f'{w!r} not in {str(self.info.value)!r}'
        return caught

def tree_state(folder):
    "`{relative path: bytes}` of every file under `folder`: compare before and after to prove nothing was touched."
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob('*')) if p.is_file()}

# ---- running the three commands -------------------------------------------------------------------------------------
def command_env(**extra):
    "The environment of every command we run: offline, one thread, an empty Hugging Face cache."
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1', 'HF_HUB_OFFLINE': '1', 'TRANSFORMERS_OFFLINE': '1'}
    env.update({k: str(v) for k, v in extra.items()})
    return env

def real_command(name, tmp):
    "argv of the installed console script `name`; if the venv predates it, the same two lines pip writes for one."
    exe = VENV_BIN/name
    if exe.exists(): return [str(exe)]
    script = Path(tmp)/f'{name}.py'
    script.write_text(f"import sys\nfrom {COMMANDS[name]} import {name}\nif __name__ == '__main__':\n    sys.exit({name}())\n")
    return [sys.executable, str(script)]

Result = SimpleNamespace

def start_real(name, *args, tmp, env=None):
    "Start console script `name` in a fresh interpreter, as a learner does; `finish` it later (it runs meanwhile)."
    return subprocess.Popen(real_command(name, tmp) + [str(a) for a in args], cwd=tmp, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env or command_env())

def finish(proc, timeout=240):
    "`Result(rc, stdout, stderr)` of a process from `start_real`."
    try: out, err = proc.communicate(timeout=timeout)
    except BaseException: proc.kill(); proc.communicate(); raise
    return Result(rc=proc.returncode, stdout=out, stderr=err)

_SERVER = r'''
"""Fork server: import the three commands once (a fresh interpreter spends seconds importing torch and torchvision),
then run each request in a forked child exactly as its console script does: `sys.exit(command())` with the request's
argv, environment, folder and output files. Children are killed by the test with SIGKILL like any process."""
import json, os, sys, traceback
from mnist_clip.cli import mnist_clip_train, mnist_clip_predict, mnist_clip_eval
COMMANDS = dict(mnist_clip_train=mnist_clip_train, mnist_clip_predict=mnist_clip_predict, mnist_clip_eval=mnist_clip_eval)
proto = os.fdopen(os.dup(1), 'w')  # replies go here; the children's fd 1 and 2 go to files
def reply(**kw): proto.write(json.dumps(kw) + '\n'); proto.flush()
reply(ready=True)
for line in sys.stdin:
    req = json.loads(line)
    if req['op'] == 'wait':
        _, status = os.waitpid(req['pid'], 0); reply(rc=os.waitstatus_to_exitcode(status)); continue
    pid = os.fork()
    if pid: reply(pid=pid); continue
    # --- the child; the command is called from the top level of this file, as fastcore's call_parse requires to parse argv
    code = 1
    try:
        proto.close()
        for fd, path, mode in ((0, os.devnull, os.O_RDONLY), (1, req['stdout'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                               (2, req['stderr'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
            f = os.open(path, mode, 0o644); os.dup2(f, fd); os.close(f)
        sys.stdin = open(os.devnull)
        os.chdir(req['cwd']); os.environ.clear(); os.environ.update(req['env'])
        sys.argv = [req['cmd'], *req['args']]
        exec(req['prelude'])  # test-only fault injection (e.g. SIGKILL inside a checkpoint write); usually empty
        result = COMMANDS[req['cmd']]()
        code = 0 if result is None else result if isinstance(result, int) else (print(result, file=sys.stderr), 1)[1]
    except SystemExit as e:  # what the interpreter does with an uncaught SystemExit
        c = e.code
        code = 0 if c is None else c if isinstance(c, int) else (print(c, file=sys.stderr), 1)[1]
    except BaseException:    # an uncaught exception: the traceback a learner would see
        traceback.print_exc(); code = 1
    finally:
        try: sys.stdout.flush(); sys.stderr.flush()
        finally: os._exit(code)
'''

def _package_stamp(): return sorted((p.name, p.stat().st_mtime_ns) for p in (ROOT/'mnist_clip').glob('*.py'))

class Commands:
    "Client of the fork server: `start(cmd, *args)` -> a `Run` (pid, kill, wait); `cmds(cmd, *args)` runs to the end."
    def __init__(self, tmp, env):
        self.tmp, self.env, self.n = Path(tmp), env, 0
        (self.tmp/'cmd_server.py').write_text(_SERVER)
        self._spawn()

    def _spawn(self):
        "(Re)start the server; `start` restarts it if `nbdev_export` rewrote the package meanwhile (its imports are stale)."
        self.stamp, self.ready = _package_stamp(), False
        self.log = open(self.tmp/'server.log', 'a')
        self.proc = subprocess.Popen([sys.executable, str(self.tmp/'cmd_server.py')], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True, env=self.env, cwd=self.tmp)

    def _ask(self, **req):
        while not self.ready:  # skip anything an import printed before the server's first reply
            line = self.proc.stdout.readline()
            assert line, f"command server failed: {(self.tmp/'server.log').read_text()}"
            self.ready = line.startswith('{"ready": true}')
        self.proc.stdin.write(json.dumps(req) + '\n'); self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"command server died: {(self.tmp/'server.log').read_text()}"
        return json.loads(line)

    def start(self, cmd, *args, cwd=None, env=None, prelude=''):
        if _package_stamp() != self.stamp: self.close(); self._spawn()
        self.n += 1
        out, err = self.tmp/f'{self.n}.{cmd}.out', self.tmp/f'{self.n}.{cmd}.err'
        env = {**self.env, **{k: str(v) for k, v in (env or {}).items()}}
        pid = self._ask(op='run', cmd=cmd, args=[str(a) for a in args], cwd=str(cwd or self.tmp), env=env,
                        stdout=str(out), stderr=str(err), prelude=prelude)['pid']
        return Run(self, pid, out, err)

    def __call__(self, cmd, *args, **kw): return self.start(cmd, *args, **kw).wait()

    def close(self):
        "Every child has been waited for; the idle server needs no clean exit (that costs seconds of torch teardown)."
        self.proc.kill(); self.proc.wait(); self.proc.stdin.close(); self.proc.stdout.close(); self.log.close()

class Run:
    def __init__(self, server, pid, out, err): self.server, self.pid, self.out, self.err, self.rc = server, pid, out, err, None
    def kill(self):
        try: os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError: pass
    def alive(self):
        "Still running (a finished child stays a zombie until `wait`: it counts as dead here)."
        try: return Path(f'/proc/{self.pid}/stat').read_text().split(')')[-1].split()[0] != 'Z'
        except FileNotFoundError: return False
    def wait(self):
        if self.rc is None: self.rc = self.server._ask(op='wait', pid=self.pid)['rc']
        return Result(rc=self.rc, stdout=self.out.read_text(), stderr=self.err.read_text())

@pytest.fixture(scope='session')
def cmds(tmp_path_factory, tiny_root):
    "The fork server, started once per session; commands default to the tiny data root and an empty HF cache."
    tmp = tmp_path_factory.mktemp('cmds')
    server = Commands(tmp, command_env(MNIST_CLIP_DATA=tiny_root, HF_HOME=tmp/'hf_home'))
    yield server
    server.close()

def assert_user_error(r, prog, *words, rc=1):
    "A command's answer to a user mistake: exit status `rc`, no traceback, one line on stderr naming the problem and fix."
    assert r.rc == rc, f'exit status {r.rc}, stderr:\n{r.stderr}'
    assert 'Traceback' not in r.stderr, r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip() and not l.startswith('usage:') and not l.startswith(' ')]
    assert len(lines) == 1, f'expected one line on stderr, got:\n{r.stderr}'
    line = lines[0]
    assert line.startswith(f'{prog}: error: '), line
    for w in words: assert w in line, f'{w!r} not in {line!r}'
    return line

@pytest.fixture(scope='session')
def plus_encoder():
    "The text encoder with the bundled all-MiniLM-L6-v2 (loads offline in about a second)."
    import torch
    from mnist_clip.text_encoder_plus import TextEncoderPlus
    torch.manual_seed(0)
    return TextEncoderPlus().eval()
