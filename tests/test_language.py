"""Notebook 11 (language): the drawn attributes are what the captions say, held-out pairs stay out of training, towers fail clearly,
and rich-caption models go through the one loop, the one scorer and the one loader."""
import json
from dataclasses import asdict

import pytest
import torch
import torchvision.transforms.functional as TF

from mnist_clip.checkpoint import load_model, save_model
from mnist_clip.clip import CLIP, clip_loss, contrastive_loss
from mnist_clip.data import batches, load_digits
from mnist_clip.language import (ATTRIBUTES, HELD_OUT, KINDS, PARAPHRASES, STYLES, WORDS, LanguageConfig, RichTask, caption, caption_set,
                                 caption_transform, draw_attributes, hard_negatives, positives, sample_attributes, sample_captions)
from mnist_clip.language_eval import pair_captions, pair_texts
from mnist_clip.text_encoder import UnknownCaptionError, UnknownWordsError, WordEncoder, tokens, vocabulary
from mnist_clip.zeroshot import classify


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
    "A whole epoch of `RichTask`'s batches over all 55,000 training images: no held-out (digit, attribute) is drawn, every other pair is."
    counts, n, cfg = torch.zeros(10, 8, dtype=torch.long), 0, LanguageConfig(bs=2048)
    for _, b in RichTask().batches(cfg, data.train_x, data.train_y, epoch=0):
        y, a, c = b.digits, b.attrs, b.constraints
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

def test_contrastive_loss_is_clip_loss_for_digit_captions():
    y = torch.tensor([0, 1, 1, 2, 0, 3])
    logits = torch.randn(6, 6)
    c = torch.stack([y, *torch.zeros(4, 6, dtype=torch.long)], 1)
    assert torch.allclose(contrastive_loss(logits, positives(c, y, torch.zeros(6, 4, dtype=torch.long))), clip_loss(logits, y))

def test_word_tower_errors_say_what_to_do():
    w = WordEncoder(vocab=vocabulary(caption_set(('a',))))
    assert w.encode_text(['a tiny seven']).shape == (1, 64)  # unknown words are skipped
    with pytest.raises(ValueError, match='empty.*write a few words'): w.encode_text(['  '])
    with pytest.raises(UnknownWordsError, match='knows no word.*use words from its training captions'): w.encode_text(['an enormous figure'])

def test_label_tower_cannot_say_an_attribute():
    with pytest.raises(UnknownCaptionError, match='names no class'): CLIP(text='basic').encode_text(['a small bold digit'])
    with pytest.raises(ValueError, match="'word' or 'plus'"): LanguageConfig(text='basic')
    with pytest.raises(ValueError, match='unknown attributes'): LanguageConfig(held_out=((3, 'huge'),))

def test_config_survives_json():
    "The loop saves `asdict(cfg)` in every checkpoint and resumes with `LanguageConfig(**saved)`."
    cfg = LanguageConfig(text='word', digits=(0, 1, 2), prefixes=('a',), held_out=((3, 'bold'),), epochs=2)
    assert LanguageConfig(**json.loads(json.dumps(asdict(cfg)))) == cfg
    assert (cfg.epochs, cfg.pct_start, cfg.channels_last, LanguageConfig().text) == (2, .1, False, 'plus')

def test_prepare_keeps_digit_names(data):
    "Training on digits 0-8 drops the nines from every split, and a seven stays a 7 (captions name it)."
    d = RichTask().prepare(LanguageConfig(digits=tuple(range(9))), data)
    for s in ('train', 'valid', 'test'):
        y, y0 = getattr(d, f'{s}_y'), getattr(data, f'{s}_y')
        assert torch.equal(y, y0[y0 != 9]) and len(getattr(d, f'{s}_x')) == len(y)

def test_plus_tower_is_standardised_and_reloads(tmp_path, data):
    "The real MiniLM tower of a rich-caption CLIP: standardised on the training captions, saved with its weights, reads any words but not none."
    m = RichTask().model(LanguageConfig(text='plus', prefixes=('a',), max_attrs=1)).eval()
    te = m.text_encoder
    e = torch.cat([te.sentence_embeddings(caption_set(('a',), 1)[i:i + 256]) for i in range(0, len(caption_set(('a',), 1)), 256)])
    assert torch.allclose(te.mean, e.mean(0)) and torch.allclose(te.std, e.std(0) + 1e-6)
    assert te.encode_text(['the gigantic numeral']).shape == (1, 64)
    for bad in ([''], ['  '], []):
        with pytest.raises(ValueError, match='non-empty'): te.encode_text(bad)
    save_model(m, tmp_path)
    back = load_model(tmp_path)
    caps = ['a small seven', 'a bold three', 'the huge number one']
    assert torch.equal(back.text_encoder.mean, te.mean) and torch.allclose(back.encode_text(caps), m.encode_text(caps), atol=1e-6)

def test_batches_draw_what_they_sample(data):
    "Jitter changes the pictures but not what is sampled or said; the same (seed, epoch) gives the same batch; a caption is true of its image."
    x, y = data.train_x[:512], data.train_y[:512]
    (x0, b0), = batches(x, y, 512, transform=caption_transform())
    (x1, b1), = batches(x, y, 512, transform=caption_transform(jitter=.3))
    (x2, b2), = batches(x, y, 512, transform=caption_transform(jitter=.3))
    assert torch.equal(b0.attrs, b1.attrs) and b0.captions == b1.captions and not torch.equal(x0, x1)
    assert torch.equal(x1, x2) and b1.captions == b2.captions
    assert x0.shape == (512, 1, 28, 28) and positives(b0.constraints, b0.digits, b0.attrs).diagonal().all()

def test_word_model_saves_and_loads(tmp_path, data):
    m = RichTask().model(LanguageConfig(text='word')).eval()
    save_model(m, tmp_path)
    back = load_model(tmp_path)
    caps = ['a small seven', 'a bold three']
    assert type(back.text_encoder) is WordEncoder and back.text_encoder.cfg == m.text_encoder.cfg
    assert torch.allclose(classify(back, data.test_x[:4], caps)[1], classify(m, data.test_x[:4], caps)[1])
    with pytest.raises(ValueError, match='empty'): classify(m, data.test_x[:4], [''])

def test_test_styles_change_only_what_they_say():
    "New words are in no training caption (with every synonym), the new frame uses only trained attribute words, 'both' has both."
    vocab = set(vocabulary(caption_set(synonyms=len(WORDS['small']))))
    assert not {w for p in PARAPHRASES.values() for w in tokens(p)} & vocab
    caps = {s: pair_captions(s) for s in STYLES}
    assert caps['train'][8 * 7] == 'a small seven' and caps['new words'][8 * 7] == 'a tiny seven'
    assert caps['new frame'][8 * 7] == 'the small number seven' and caps['both'][8 * 7 + 6] == 'the number seven raised'
    assert set(tokens(' '.join(caps['train']))) <= vocab and 'number' not in vocab
    for s in ('new words', 'both'): assert all(set(tokens(c)) - vocab for c in caps[s])  # each says a word never trained on
    assert set(tokens(' '.join(caps['new frame']))) - vocab == {'number'}
    with pytest.raises(ValueError, match='style must be'): caption(7, {0: 1}, style='paraphrase')

def test_synonyms_choose_the_training_phrasings(data):
    assert 'little' not in vocabulary(caption_set(synonyms=1)) and {'short', 'compact'} <= set(vocabulary(caption_set(synonyms=4)))
    y = data.train_y[:2000]
    g = torch.Generator().manual_seed(0)
    caps, _ = sample_captions(y, sample_attributes(y, g), g, synonyms=1)
    assert set(tokens(' '.join(caps))) <= set(vocabulary(caption_set(synonyms=1)))
    with pytest.raises(ValueError, match='synonyms must be'): LanguageConfig(synonyms=5)

def test_hard_negatives_change_one_thing_and_never_say_a_held_out_pair(data):
    g = torch.Generator().manual_seed(0)
    y = data.train_y[:2000]
    a = sample_attributes(y, g)
    _, c = sample_captions(y, a, g)
    n = hard_negatives(c, g, held_out=())
    changed = n != c
    said = torch.cat([c[:, :1] >= 0, c[:, 1:] > 0], 1)
    assert (changed.sum(1) == 1).all() and said[changed].all()  # one thing said, changed
    assert not positives(n, y, a).diagonal().any()             # false of its own image
    assert (n[changed[:, 0], 0] != c[changed[:, 0], 0]).all() and set(n[:, 0].tolist()) <= set(range(-1, 10))
    assert set(hard_negatives(c[y != 9], g, digits=range(9), held_out=())[:, 0].tolist()) <= set(range(-1, 9))  # only trained digits are named
    kept = hard_negatives(c, g)
    for d, name in HELD_OUT:
        i = ATTRIBUTES.index(name)
        assert not ((kept[:, 0] == d) & (kept[:, 1 + i // 2] == i % 2 + 1)).any()

def test_rich_loss_with_hard_negatives(data):
    "Negatives join the batch as texts: images choose among all of them; a negative true of no image takes no text-to-image term."
    cfg = LanguageConfig(text='word', hard_negatives=True, bs=64)
    torch.manual_seed(0)
    task = RichTask(); m = task.model(cfg)
    xb, yb = next(iter(task.batches(cfg, data.train_x[:64], data.train_y[:64], epoch=0)))
    assert len(yb.captions) > 64 and len(yb.captions) == len(yb.constraints)
    loss, logits = task.loss(m, xb, yb, cfg)
    assert logits.shape == (64, len(yb.captions)) and torch.isfinite(loss) and not positives(yb.constraints, yb.digits, yb.attrs).any(0).all()
    plain = LanguageConfig(text='word', bs=64)
    xp, yp = next(iter(task.batches(plain, data.train_x[:64], data.train_y[:64], epoch=0)))
    assert torch.allclose(task.loss(m, xp, yp, plain)[0], contrastive_loss(m(xp, yp.captions), positives(yp.constraints, yp.digits, yp.attrs)))

def test_prompt_ensemble_averages_unit_caption_embeddings():
    torch.manual_seed(0)
    m = RichTask().model(LanguageConfig(text='word')).eval()
    with torch.no_grad(): one = torch.nn.functional.normalize(m.encode_text(pair_captions('train')), dim=-1)
    assert torch.allclose(pair_texts(m), one, atol=1e-6)
    e = pair_texts(m, synonyms=2, prefixes=('a', 'a handwritten'))
    assert e.shape == (80, 64) and torch.allclose(e.norm(dim=-1), torch.ones(80)) and not torch.allclose(e, one)
