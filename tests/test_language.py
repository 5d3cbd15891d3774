"Notebook 11 (language): the drawn attributes are what the captions say, held-out pairs stay out of training, towers fail clearly."
from types import SimpleNamespace

import pytest
import torch
import torchvision.transforms.functional as TF

from mnist_clip.clip import CLIP, clip_loss
from mnist_clip.data import load_digits
from mnist_clip.language import (ATTRIBUTES, HELD_OUT, KINDS, WORDS, LanguageConfig, UnknownWordsError, WordEncoder, caption,
                                 caption_set, draw_attributes, language_batches, language_clip, load_language_model,
                                 multi_positive_loss, positives, rank_captions, sample_attributes, sample_captions,
                                 save_language_model, vocabulary)
from mnist_clip.text_encoder import UnknownCaptionError
from mnist_clip.text_encoder_plus import TextEncoderPlus


@pytest.fixture(scope='module')
def data(): return load_digits(device='cpu')

def _ink(x): return x.sum((1, 2, 3))                                  # (B,)
def _height(x): return (x[:, 0] > .3).any(2).sum(1).float()          # (B,) rows with ink
def _row_centre(x):
    r = torch.arange(28.)[None, :, None]
    return (x[:, 0] * r).sum((1, 2)) / x[:, 0].sum((1, 2))           # (B,) centre of mass, in rows

@pytest.mark.parametrize('jitter', [0., .3])
def test_drawn_attributes_are_what_the_values_say(data, jitter):
    "Each kind's value, drawn on a mixed batch (with and without jitter), measured on the picture against the digit as written."
    x = data.train_x[:300][:, None].float() / 255
    v = torch.arange(300) % 3  # 0, 1, 2 mixed in one batch: each image gets its own value
    for k, kind in enumerate(KINDS):
        a = torch.zeros(300, 4, dtype=torch.long); a[:, k] = v
        d = draw_attributes(x, a, jitter, torch.Generator().manual_seed(k))
        assert torch.equal(d[v == 0], x[v == 0]) or torch.allclose(d[v == 0], x[v == 0], atol=1e-5), kind  # value 0: as written
        one, two = v == 1, v == 2
        if kind == 'stroke':
            assert (_ink(d[one]) < _ink(x[one])).all() and (_ink(d[two]) > _ink(x[two])).all()
        if kind == 'size':
            assert (_height(d[one]) < _height(x[one])).all() and (_height(d[two]) > _height(x[two])).all()
        if kind == 'position':  # high: the centre of mass moves up (smaller row), low: down
            assert (_row_centre(d[one]) < _row_centre(x[one]) - 2).all() and (_row_centre(d[two]) > _row_centre(x[two]) + 2).all()
        if kind == 'slant':  # torchvision's rotate (counter-clockwise for positive angles) is an independent reference
            for sel, ccw in ((one, 20.), (two, -20.)):
                near = ((d[sel] - TF.rotate(x[sel], ccw)) ** 2).sum((1, 2, 3))
                far = ((d[sel] - TF.rotate(x[sel], -ccw)) ** 2).sum((1, 2, 3))
                assert (near < far).all(), ATTRIBUTES[2 * k + (1 if ccw > 0 else 2) - 1]

def test_captions_say_only_what_was_drawn(data):
    g = torch.Generator().manual_seed(1)
    y = data.train_y[:2000]
    a = sample_attributes(y, g)
    caps, c = sample_captions(y, a, g)
    assert positives(c, y, a).diagonal().all()
    for text, cc, yy in zip(caps, c.tolist(), y.tolist()):
        assert (cc[0] == yy) == (caption(yy, {}).split()[-1] in text.split())  # the digit word is there iff the digit is said
        for k, val in enumerate(cc[1:]):
            if val: assert any(w in text for w in WORDS[ATTRIBUTES[2 * k + val - 1]])
        assert cc[0] >= 0 or any(cc[1:])  # every caption says something

def test_held_out_pairs_never_reach_a_training_batch(data):
    "A whole epoch over all 55,000 training images: no held-out (digit, attribute) is drawn, every other pair is."
    counts = torch.zeros(10, 8, dtype=torch.long)
    n = 0  # draw=False: the epoch's own sampling of attributes and captions, without drawing the pictures
    for x, y, a, caps, c in language_batches(data.train_x, data.train_y, bs=2048, draw=False):
        assert x is None
        n += len(y)
        for k in range(4):
            for v in (1, 2):
                counts[:, 2 * k + v - 1] += torch.bincount(y[a[:, k] == v], minlength=10)
        for d, name in HELD_OUT:  # nor does any caption say it
            i = ATTRIBUTES.index(name)
            assert not ((c[:, 0] == d) & (c[:, 1 + i // 2] == i % 2 + 1)).any()
    assert n == len(data.train_x)
    held = torch.zeros(10, 8, dtype=torch.bool)
    for d, name in HELD_OUT: held[d, ATTRIBUTES.index(name)] = True
    assert counts[held].sum() == 0 and (counts[~held] > 100).all()

def test_multi_positive_loss_is_clip_loss_for_digit_captions():
    y = torch.tensor([0, 1, 1, 2, 0, 3])
    logits = torch.randn(6, 6)
    c = torch.stack([y, *torch.zeros(4, 6, dtype=torch.long)], 1)
    assert torch.allclose(multi_positive_loss(logits, positives(c, y, torch.zeros(6, 4, dtype=torch.long))), clip_loss(logits, y))

def test_word_tower_errors_say_what_to_do():
    w = WordEncoder(vocab=vocabulary(caption_set(('a',))))
    assert w.encode_text(['a tiny seven']).shape == (1, 64)  # unknown words are skipped
    with pytest.raises(ValueError, match='empty.*write a few words'): w.encode_text(['  '])
    with pytest.raises(UnknownWordsError, match='knows no word.*use words from its training captions'): w.encode_text(['an enormous figure'])

def test_label_tower_cannot_say_an_attribute():
    with pytest.raises(UnknownCaptionError, match='names no class'): CLIP(text='basic').encode_text(['a small bold digit'])
    with pytest.raises(ValueError, match="'word' or 'plus'"): LanguageConfig(text='basic')

def test_plus_tower_reads_any_words_but_not_nothing():
    "The real `TextEncoderPlus.encode_text` on a stand-in for MiniLM (loading it takes most of a minute): any words, not none."
    minilm = SimpleNamespace(sentence_embeddings=lambda s: torch.randn(len(s), 384), proj=torch.nn.Linear(384, 64))
    assert TextEncoderPlus.encode_text(minilm, ['the gigantic numeral']).shape == (1, 64)
    for bad in ([''], ['  '], []):
        with pytest.raises(ValueError, match='non-empty'): TextEncoderPlus.encode_text(minilm, bad)

def test_language_batches_draw_what_they_sample(data):
    "The images of a batch are its attributes drawn (with jitter) on its digits, and draw=False samples the same captions."
    it = language_batches(data.train_x[:512], data.train_y[:512], bs=256, jitter=.3)
    x, y, a, caps, c = next(it)
    _, y2, a2, caps2, c2 = next(language_batches(data.train_x[:512], data.train_y[:512], bs=256, jitter=.3, draw=False))
    assert torch.equal(y, y2) and torch.equal(a, a2) and caps == caps2 and torch.equal(c, c2)
    assert x.shape == (256, 1, 28, 28) and positives(c, y, a).diagonal().all()

def test_word_model_saves_and_loads(tmp_path, data):
    m = language_clip(LanguageConfig(text='word')).eval()
    save_language_model(m, tmp_path)
    back = load_language_model(tmp_path)
    caps = ['a small seven', 'a bold three']
    assert torch.allclose(rank_captions(back, data.test_x[:4], caps)[1], rank_captions(m, data.test_x[:4], caps)[1])
    with pytest.raises(ValueError, match='no captions'): rank_captions(m, data.test_x[:4], [])
