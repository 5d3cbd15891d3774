"""Classes are data, not code: a CLIP of five digits (0 to 4, five class names) trains, is scored (accuracy, recall,
confusion matrix), saved, loaded, searched and evaluated end to end, from Python and through the three commands."""
import matplotlib.pyplot as plt
import pytest
from PIL import Image

from conftest import N_TEST, raises
from mnist_clip.checkpoint import load_model
from mnist_clip.data import DigitData
from mnist_clip.inference import class_captions, embed_images, text_search
from mnist_clip.figures import plot_confusion
from mnist_clip.recipe import get_preset
from mnist_clip.callbacks import fit
from mnist_clip.zeroshot import classify, confusion_matrix, evaluate, per_class_accuracy

pytestmark = pytest.mark.usefixtures('one_thread')
DIGITS, NAMES = (0, 1, 2, 3, 4), ('zero', 'one', 'two', 'three', 'four')

@pytest.fixture(scope='module')
def five(mnist, tmp_path_factory):
    "`(TrainState, the five-digit data)`: the fast recipe, one epoch over the 0-4s among 20,000 training images."
    x, y, tx, ty = mnist
    data = DigitData(x[:20000], y[:20000], x[20000:21000], y[20000:21000], tx, ty)
    r = fit(get_preset('fast', epochs=1, digits=DIGITS), data=data, out=tmp_path_factory.mktemp('five'), name='five',
              device='cpu', progress=False)
    return r, data.subset(DIGITS)

def test_five_classes_train_and_score(five):
    r, d = five
    assert r.model.class_names == NAMES and d.test_y.unique().tolist() == [0, 1, 2, 3, 4]
    assert r.test['acc'] > 0.9  # chance is 0.2
    m = evaluate(r.model, d.test_x, d.test_y)
    assert m['acc'] == pytest.approx(r.test['acc'], abs=1e-4) and m['i2t_r5'] == 1.0  # five captions: all in the top 5
    pred, probs = classify(r.model, d.test_x)
    assert probs.shape == (len(d.test_x), 5)
    cm = confusion_matrix(d.test_y, pred, 5)
    assert cm.shape == (5, 5) and cm.sum() == len(d.test_x) and per_class_accuracy(cm).min() > 0.8
    fig = plot_confusion(cm, r.model.class_names)
    assert [t.get_text() for t in fig.axes[1].get_yticklabels()] == [f'{i} {n}' for i, n in enumerate(NAMES)]
    plt.close(fig)

def test_five_classes_saved_loaded_searched(five):
    r, d = five
    m = load_model(r.run/'best', 'cpu')
    assert m.class_names == NAMES and m.config['text_kwargs']['n_classes'] == 5
    assert class_captions(m) == [f'a handwritten digit {n}' for n in NAMES]
    sims, idx = text_search(m, 'a handwritten digit three', embed_images(m, d.test_x), k=8)
    assert (d.test_y[idx] == 3).sum() >= 7
    with raises(ValueError, 'it names no class', 'a digit 0-4'): m.encode_text(['a handwritten digit seven'])

def test_five_classes_from_the_shell(cmds, five, mnist, tmp_path):
    r, _ = five
    e = cmds('mnist_clip_eval', '--checkpoint', r.run/'best', '--device', 'cpu')  # the tiny data root: the first N_TEST test images
    assert e.rc == 0, e.stderr
    lines, n = e.stdout.splitlines(), int((mnist[3][:N_TEST] < 5).sum())
    assert lines[0] == f"{r.run/'best'} on {n:,} MNIST test images of its 5 digits"
    assert [l.split()[:2] for l in lines[-5:]] == [[str(d), w] for d, w in zip(DIGITS, NAMES)]
    png = tmp_path/'three.png'; Image.fromarray(mnist[2][(mnist[3] == 3).nonzero()[0, 0]].numpy()).save(png)
    p = cmds('mnist_clip_predict', png, '--checkpoint', r.run/'best', '--k', '9')
    assert p.rc == 0, p.stderr
    assert len(p.stdout.splitlines()) == 6 and p.stdout.splitlines()[1].endswith('a handwritten digit three')  # five captions, three first
    t = cmds('mnist_clip_train', '--digits', '0,1,2,3,4', '--epochs', '1', '--bs', '32', '--out', tmp_path, '--name', 'five',
             '--quiet', '--device', 'cpu')
    assert t.rc == 0, t.stderr
    assert load_model(tmp_path/'five'/'best').class_names == NAMES
    assert 'two or more different digits' in cmds('mnist_clip_train', '--digits', '7', '--out', tmp_path, '--quiet').stderr
