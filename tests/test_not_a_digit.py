"""Pictures that are not digits get no confident digit (issue 22): a picture with no ink is refused, one that does not look
like a digit is refused with its score, the threshold comes from the model's folder; and a device the machine lacks is one
line naming the devices it has, in `get_device` and in all three commands."""
import math, shutil

import matplotlib
import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFont

from conftest import assert_user_error
from mnist_clip import checkpoint as ck, nondigit as N, pictures as P

from mnist_clip.devices import _devices, get_device
from mnist_clip.zeroshot import classify

pytestmark = pytest.mark.usefixtures('one_thread')

@pytest.fixture(scope='module')
def shipped(): return ck.load_model(device='cpu')

@pytest.fixture(scope='module')
def blanks(tmp_path_factory):
    "The no-ink pictures of the issue, as files, plus a uniform grey and an all-zero tensor."
    d = tmp_path_factory.mktemp('blanks')
    Image.new('L', (28, 28), 0).save(d/'black.png')
    Image.fromarray(np.full((40, 30), 65535, np.uint16)).save(d/'white16.png')
    Image.new('CMYK', (40, 40), (0, 0, 0, 255)).save(d/'black_cmyk.jpg')
    Image.new('RGBA', (32, 32), (0, 0, 0, 0)).save(d/'transparent.png')
    Image.new('L', (50, 50), 128).save(d/'grey.png')
    return [d/'black.png', d/'white16.png', d/'black_cmyk.jpg', d/'transparent.png', d/'grey.png', torch.zeros(28, 28)]

def test_no_ink_is_refused(shipped, blanks):
    checks = N.check_digits(shipped, blanks)
    assert [c.ok for c in checks] == [False] * len(blanks), checks
    assert all(c.reason == 'no ink' and math.isnan(c.score) for c in checks), checks

def test_faint_digit_is_not_refused(shipped, mnist):
    tx, ty = mnist[2][:20], mnist[3][:20]
    faint = (tx.float() * .2).round().byte()                     # ink at 20% of the full range, on black
    faint_on_white = 255 - faint                                 # and dark grey on white
    full = [c.ok for c in N.check_digits(shipped, tx)]            # (a digit or two may fall in the 1% refused by design)
    for x in (faint, faint_on_white):
        checks = N.check_digits(shipped, x)
        assert [c.ok for c in checks] == full and all(c.reason != 'no ink' for c in checks), checks
        assert (classify(shipped, P.prepare(x))[0] == ty).float().mean() >= .9

def test_small_digit_in_a_corner_of_a_white_canvas(shipped, mnist):
    "Ink that reaches into the border ring no longer flips the polarity (the border's mean did; its median does not)."
    tx, ty = mnist[2], mnist[3]
    canvas = np.full((56, 56), 255, np.uint8); canvas[:28, :28] = 255 - tx[1].numpy()  # a 2, dark on white, top-left corner
    assert N.check_digits(shipped, canvas)[0].ok
    assert classify(shipped, P.prepare(canvas))[0].item() == ty[1].item()

def glyph(ch):
    "A black `ch` in DejaVu Sans (matplotlib ships it) on a white 64x64 canvas."
    im = Image.new('L', (64, 64), 255); font = ImageFont.truetype(f'{matplotlib.get_data_path()}/fonts/ttf/DejaVuSans.ttf', 48)
    ImageDraw.Draw(im).text((32, 32), ch, font=font, fill=0, anchor='mm'); return im

def test_not_a_digit_is_refused(shipped, mnist):
    """Symbols are refused by the shipped model's 'not a digit' caption, at about 1% of real digits refused (notebook
    08). Not all: symbols no training showed that share a digit's strokes (& $ § ?) pass, appendix 15 counts them."""
    checks = N.check_digits(shipped, [glyph(ch) for ch in '@#'])
    assert [ch.ok for ch in checks] == [False, False], checks
    c = checks[0]
    assert c.reason == f'does not look like a digit (score {c.score:.3f} < {shipped.digit_check["threshold"]:.3f})'
    digits = N.check_digits(shipped, mnist[2][:500])
    assert sum(not c.ok for c in digits) <= 10                   # about 1% of real digits are refused, by design
    assert all(c.reason == '' and c.score >= shipped.digit_check['threshold'] for c in digits if c.ok)

def test_threshold_comes_from_the_model_folder(shipped, mnist, tmp_path):
    folder = shutil.copytree(ck.PRETRAINED_DIR, tmp_path/'model')
    rule = ck.load_digit_check(folder)
    assert rule['threshold'] == shipped.digit_check['threshold'] and rule['gallery'] is None and rule['kind'] == 'caption'
    ck.save_digit_check(folder, None, 1000.)                     # no log-odds reaches 1000: every picture is refused
    m = ck.load_model(folder, 'cpu')
    assert m.digit_check['threshold'] == 1000.
    assert all(not c.ok and c.reason.endswith('< 1000.000)') for c in N.check_digits(m, mnist[2][:3]))
    (folder/ck.DIGIT_CHECK).unlink()                             # no rule: only blank pictures are refused
    m = ck.load_model(folder, 'cpu')
    assert m.digit_check is None
    assert [c.ok for c in N.check_digits(m, [torch.zeros(28, 28), mnist[2][0]])] == [False, True]

def test_both_shipped_folders_carry_a_rule(shipped):
    "The label model refuses by its 'not a digit' caption; the rich-caption model by the nearest training digit."
    assert shipped.class_names[-1] == N.NOT_A_DIGIT and shipped.digit_check['gallery'] is None
    rich = ck.load_digit_check(ck.RICH_DIR)
    assert rich is not None and rich['kind'] == 'gallery' and rich['gallery'].shape == (1000, 64), rich
    assert rich['chosen_on'] == '1% of 5,000 validation digits refused' == shipped.digit_check['chosen_on']

def test_shipped_model_refuses_letters_in_fonts_no_training_used(shipped):
    "Issue 39: the shipped label model refuses most Latin letters in the test fonts, which no training or threshold saw."
    g = torch.Generator().manual_seed(0)
    letters = [N.glyph(c, f, g) for f in N.FONTS['test'] for c in N.LATIN[::4]]  # 11 letters in each of 7 fonts: 77
    refused = sum(not c.ok for c in N.check_digits(shipped, letters)) / len(letters)
    assert refused > .85, refused

def test_predict_command_refuses_and_scores_the_rest(cmds, blanks, mnist, tmp_path):
    digit = tmp_path/'seven.png'; Image.fromarray(mnist[2][0].numpy()).save(digit)
    files = [blanks[0], digit, blanks[2], blanks[3]]
    r = cmds('mnist_clip_predict', *files)
    assert r.rc == 1 and 'Traceback' not in r.stderr, r.stderr
    assert r.stdout.splitlines()[0] == str(digit) and r.stdout.splitlines()[1].endswith('seven'), r.stdout
    assert r.stderr.splitlines() == [f'mnist_clip_predict: error: {f}: no ink: the picture is blank, nothing to classify' for f in files if f != digit]
    r = cmds('mnist_clip_predict', blanks[1])
    assert_user_error(r, 'mnist_clip_predict', str(blanks[1]), 'no ink')
    r = cmds('mnist_clip_predict', *files, '--no_check')
    assert r.rc == 0 and len(r.stdout.splitlines()) == 4 * len(files), r.stderr

def test_predict_command_not_a_digit(cmds, tmp_path):
    noise = tmp_path/'at.png'; glyph('@').save(noise)
    r = cmds('mnist_clip_predict', noise)
    assert_user_error(r, 'mnist_clip_predict', f'{noise}: does not look like a digit (score ', '--no_check')

# ---- devices --------------------------------------------------------------------------------------------------------
MISSING = [f'cuda:{torch.cuda.device_count() if torch.cuda.is_available() else 0}'] + ([] if torch.backends.mps.is_available() else ['mps'])
MISSING += [] if torch.cuda.is_available() else ['cuda']

@pytest.mark.parametrize('device', MISSING)
def test_get_device_names_the_devices_here(device):
    with pytest.raises(ValueError) as e: get_device(device)
    assert str(e.value) == f"device {device!r} is not here: this machine has {', '.join(_devices())}; use one of them, or 'auto' for the best"

@pytest.mark.parametrize('device', MISSING)
def test_commands_name_the_devices_here(cmds, blanks, tmp_path, device):
    line = f"device {device!r} is not here: this machine has {', '.join(_devices())}"
    for cmd, args in [('mnist_clip_train', ['--out', tmp_path/'runs', '--epochs', '1', '--quiet']), ('mnist_clip_predict', [blanks[0]]),
                      ('mnist_clip_eval', [])]:
        r = cmds(cmd, *args, '--device', device)
        assert 'checkpoint' not in assert_user_error(r, cmd, line)
    assert not (tmp_path/'runs').exists()

def test_trained_model_refuses_a_letter_in_an_unseen_font(cmds, mnist_root, mnist, tmp_path):
    "Issue 29: `mnist_clip_train --none` stores its rule with the checkpoint, and `mnist_clip_predict` refuses a letter in a font no training used."
    from mnist_clip.nondigit import FONTS, glyph as font_glyph
    r = cmds('mnist_clip_train', '--none', '0.1', '--epochs', '1', '--n_train', '20000', '--data', mnist_root, '--out', tmp_path/'runs', '--name', 'none', '--quiet')
    assert r.rc == 0, r.stderr
    best = tmp_path/'runs'/'none'/'best'
    rule = ck.load_digit_check(best)
    assert rule['kind'] == 'caption' and rule['gallery'] is None and rule['chosen_on'] == '1% of 5,000 validation digits refused', rule
    assert 'cmb10.ttf' not in FONTS['train'] + FONTS['valid']
    letter, seven = tmp_path/'K.png', tmp_path/'seven.png'
    Image.fromarray(font_glyph('K', 'cmb10.ttf', torch.Generator().manual_seed(0))).save(letter); Image.fromarray(mnist[2][0].numpy()).save(seven)
    r = cmds('mnist_clip_predict', letter, seven, '--checkpoint', best)
    assert r.stdout.splitlines()[0] == str(seven) and r.stdout.splitlines()[1].endswith('seven'), r.stdout
    assert_user_error(r, 'mnist_clip_predict', f'{letter}: does not look like a digit (score ', '--no_check classifies it anyway')
    r = cmds('mnist_clip_predict', letter, '--checkpoint', best, '--no_check', '--k', '1')
    assert r.rc == 0 and r.stdout.splitlines()[1].endswith('not a digit'), r.stdout  # the eleventh caption wins the ranking too
    r = cmds('mnist_clip_eval', '--checkpoint', best, '--data', mnist_root)  # accuracy among the ten digits; 'not a digit' is no row of it
    assert r.rc == 0 and r.stdout.splitlines()[-1].split()[:2] == ['9', 'nine'] and 'not a digit' not in r.stdout, r.stdout + r.stderr

def test_predict_refuses_a_letter_in_an_unseen_font_with_the_shipped_model(cmds, mnist, tmp_path):
    "Issue 39: no --checkpoint, no training: `mnist_clip_predict` refuses a K in Computer Modern bold, reads a seven."
    from mnist_clip.nondigit import FONTS, glyph as font_glyph
    assert 'cmb10.ttf' in FONTS['test']
    letter, seven = tmp_path/'K.png', tmp_path/'seven.png'
    Image.fromarray(font_glyph('K', 'cmb10.ttf', torch.Generator().manual_seed(0))).save(letter)
    Image.fromarray(mnist[2][0].numpy()).save(seven)
    r = cmds('mnist_clip_predict', letter, seven)
    assert r.stdout.splitlines()[0] == str(seven) and r.stdout.splitlines()[1].endswith('seven'), r.stdout
    assert_user_error(r, 'mnist_clip_predict', f'{letter}: does not look like a digit (score ', '--no_check classifies it anyway')
