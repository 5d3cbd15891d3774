"""`mnist_clip_train --captions rich` (issue 18, item 7): a word-tower model trained on attribute captions in seconds on the
tiny data root, opened by `mnist_clip_predict --checkpoint` (which ranks attribute captions) and `mnist_clip_eval`; and the
mistakes around it, each one line on stderr: a label lookup asked to train on or rank captions it cannot express."""
import json

import pytest
import torch
from PIL import Image

from conftest import assert_user_error
from mnist_clip.checkpoint import PRETRAINED_DIR, load_model
from mnist_clip.cli import read_captions
from mnist_clip.clip import CLIP
from mnist_clip.language import draw_attributes

pytestmark = pytest.mark.usefixtures('one_thread')
CAPTIONS = ['a bold 7', 'a thin 7', 'a small bold 7', 'a large thin 3']

@pytest.fixture(scope='module')
def rich_run(cmds, tmp_path_factory, mnist_root):
    "One rich-caption run with the word tower on 8,192 real training images, two epochs (long enough to learn 'bold'): `(its result, best/)`."
    out = tmp_path_factory.mktemp('rich')
    r = cmds('mnist_clip_train', '--captions', 'rich', '--text', 'word', '--epochs', 2, '--n_train', 8192, '--data', mnist_root,
             '--out', out, '--name', 'w', '--quiet')
    return r, out/'w'/'best'

@pytest.fixture(scope='module')
def bold_seven(tmp_path_factory, mnist):
    "A test seven drawn bold (notebook 11's `draw_attributes`), saved as a 28x28 PNG."
    tx, ty = mnist[2], mnist[3]
    x = tx[(ty == 7).nonzero()[0]].float() / 255                 # (1, 28, 28)
    im = draw_attributes(x[:, None], torch.tensor([[0, 2, 0, 0]]))[0, 0]
    path = tmp_path_factory.mktemp('pics')/'bold_seven.png'
    Image.fromarray((255 * im).round().byte().numpy()).save(path)
    return path

def test_train_rich_word(rich_run):
    r, final = rich_run
    assert r.rc == 0, r.stderr
    assert 'Traceback' not in r.stderr
    assert f'--checkpoint {final}' in r.stdout and 'test accuracy:' in r.stdout.splitlines()[-1]
    info = json.loads((final/'training.json').read_text())
    assert info['task'] == 'rich' and info['config']['text'] == 'word' and info['config']['epochs'] == 2
    run = final.parent                                            # the one loop's service: best/, last/, TensorBoard events
    assert (run/'last').is_dir() and any(f.name.startswith('events.out.tfevents') for f in run.iterdir())
    model = load_model(final, 'cpu')                              # the plain loader opens a word-tower model
    assert model.config['text'] == 'word' and type(model.text_encoder).__name__ == 'WordEncoder'

def test_predict_ranks_attribute_captions(cmds, rich_run, bold_seven):
    final = rich_run[1]
    r = cmds('mnist_clip_predict', bold_seven, '--checkpoint', final, '--k', len(CAPTIONS), '--captions', *CAPTIONS)
    assert r.rc == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == str(bold_seven)
    ranked = {l.split('%  ')[1]: float(l.split('%')[0]) for l in lines[1:]}
    assert sorted(ranked) == sorted(CAPTIONS)                     # every caption ranked, as typed ('7', not 'seven')
    assert abs(sum(ranked.values()) - 100) < 0.1
    assert ranked['a bold 7'] > ranked['a thin 7'], ranked       # the trained model sees that the seven is bold
    assert ranked['a bold 7'] > ranked['a large thin 3'], ranked

def test_predict_notes_unseen_words(cmds, rich_run, bold_seven):
    r = cmds('mnist_clip_predict', bold_seven, '--checkpoint', rich_run[1], '--captions', 'a heavy seven', 'a thin seven')
    assert r.rc == 0, r.stderr
    assert r.stdout.splitlines()[0] == "note: the word tower never saw 'heavy' in training: it ranks 'a heavy seven' on its other words"

def test_eval_rich_model(cmds, rich_run, mnist_root):
    final = rich_run[1]
    r = cmds('mnist_clip_eval', '--checkpoint', final, '--device', 'cpu', '--data', mnist_root)
    assert r.rc == 0, r.stderr
    acc = json.loads((final/'training.json').read_text())['metrics']['test']['acc']
    assert r.stdout.splitlines()[1].split()[-1] == f'{acc:.2%}'  # the number the training run printed

@pytest.mark.parametrize('args, words', [
    (['--text', 'basic'], ['--captions rich needs --text word or --text plus', 'cannot express an attribute']),
    (['--text', 'word', '--preset', 'best'], ['--captions rich has the presets shipped', "not 'best'"]),
    (['--text', 'word', '--preset', 'shipped'], ['--preset shipped trains the plus text tower', 'drop --text word']),
    (['--text', 'word', '--digits', '0,1'], ['--digits', 'drop it']),
    (['--text', 'word', '--resume'], ['--resume continues a run with its saved settings: drop --text']),
    (['--text', 'word', '--epochs', '0'], ['epochs, bs and lr must be positive']),
    (['--text', 'word', '--n_train', '-1'], ['--n_train must be 0']),
], ids=['basic', 'preset', 'shipped-word', 'digits', 'resume-with-settings', 'epochs0', 'n_train'])
def test_train_rich_refuses(cmds, tmp_path, args, words):
    r = cmds('mnist_clip_train', '--captions', 'rich', *args, '--out', tmp_path/'runs')
    assert_user_error(r, 'mnist_clip_train', *words)
    assert not (tmp_path/'runs').exists()                        # nothing written

@pytest.mark.parametrize('args, words', [
    (['--captions', 'fancy'], ["--captions must be 'digit' or 'rich', not 'fancy'"]),
    (['--text', 'word'], ['--text word learns its words from the rich captions: add --captions rich']),
], ids=['captions', 'word-without-rich'])
def test_train_refuses(cmds, tmp_path, args, words):
    assert_user_error(cmds('mnist_clip_train', *args, '--out', tmp_path/'runs'), 'mnist_clip_train', *words)

def test_shipped_models_answer_or_refuse_attribute_captions(cmds, bold_seven):
    "Right after install: captions about looks go to the shipped rich-caption model; the shipped label model, named, refuses them."
    r = cmds('mnist_clip_predict', bold_seven, '--captions', 'a bold 7', 'a thin 7', 'a large thin 3', '--k', 3)
    assert r.rc == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith('note: these captions say how the digit looks: the shipped rich-caption model ranks them') and lines[1] == str(bold_seven)
    ranked = {l.split('%  ')[1]: float(l.split('%')[0]) for l in lines[2:]}
    assert ranked['a bold 7'] > ranked['a thin 7'] and ranked['a bold 7'] > ranked['a large thin 3'], ranked
    r = cmds('mnist_clip_predict', bold_seven, '--checkpoint', PRETRAINED_DIR, '--captions', 'a small bold 7', 'a large thin 3')
    assert_user_error(r, 'mnist_clip_predict', 'label lookup', "'a small bold 7'", "'small'", 'leave out --checkpoint')
    assert r.stdout == ''
    assert cmds('mnist_clip_predict', bold_seven, '--captions', 'the number 7', 'the number 1').rc == 0  # digits alone: the label model

@pytest.mark.parametrize('captions, words', [(['cat', 'dog'], ['knows no word of', "'cat'"]),
                                             (['', 'a bold seven'], ['is empty'])], ids=['unknown', 'empty'])
def test_word_model_caption_errors(cmds, rich_run, bold_seven, captions, words):
    r = cmds('mnist_clip_predict', bold_seven, '--checkpoint', rich_run[1], '--captions', *captions)
    assert_user_error(r, 'mnist_clip_predict', *words)

def test_read_captions():
    "The label lookup refuses looks; other towers read numerals as the training captions spell them."
    torch.manual_seed(0)
    basic = CLIP()
    assert read_captions(basic, ['the number 7', 'a handwritten digit one']) == (['the number 7', 'a handwritten digit one'], [])
    for t in ['a tiny 7', 'a seven tilted left', 'a 3 at the top']:
        with pytest.raises(ValueError, match='label lookup'): read_captions(basic, [t])
    word = CLIP(text='word', text_kwargs=dict(vocab=('a', 'bold', 'seven', 'three')))
    assert read_captions(word, ['a bold 7', 'a 3.5 three']) == (['a bold seven', 'a 3.5 three'],
                                                               ["note: the word tower never saw '3', '5' in training: it ranks 'a 3.5 three' on its other words"])

def test_resume_a_rich_run_without_repeating_its_flags(cmds, rich_run, mnist_root):
    "Issue 36: the checkpoint knows its task; `--resume` alone continues a rich-caption run (here: finished, so it reports)."
    run = rich_run[1].parent
    r = cmds('mnist_clip_train', '--resume', '--out', run.parent, '--name', run.name, '--data', mnist_root, '--quiet')
    assert r.rc == 0, r.stderr
    assert 'test accuracy:' in r.stdout.splitlines()[-1] and '--captions' not in r.stderr

def test_the_shipped_rich_model_is_the_shipped_preset():
    "Issue 38: the rich-caption folder was trained by `--captions rich --preset shipped` (RECIPE.md) with what it kept."
    from mnist_clip.checkpoint import RICH_DIR
    from mnist_clip.cli import RICH_PRESETS
    from mnist_clip.language import HELD_OUT, TRANSFER, VALID_PAIRS
    info = json.loads((RICH_DIR/'training.json').read_text())
    assert info['task'] == 'rich'
    for k, v in RICH_PRESETS['shipped'].items():
        assert info['config'][k] == json.loads(json.dumps(v)), k
    assert TRANSFER.items() <= RICH_PRESETS['shipped'].items()
    # no test pair and no validation pair was ever drawn: both were held out of its training
    assert {tuple(p) for p in info['config']['held_out']} == set(HELD_OUT + VALID_PAIRS)
    model = load_model(RICH_DIR)
    assert model.text_encoder.cfg.residual and model.text_encoder.cfg.noise == TRANSFER['text_noise']
    assert model.digit_check is not None  # and its not-a-digit rule
