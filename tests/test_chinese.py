"""Issue 40: Chinese captions where the label tower reads captions, and an install that fits the machine.

Chinese numerals name digits in `text_to_label` (appendix 25), so `mnist_clip_predict --captions` and the explorer's
search box read them; errors come in the caption's language. Both READMEs give the CPU-only and Windows commands.
"""
from pathlib import Path

import pytest
import torch
from PIL import Image

from conftest import assert_user_error
from mnist_clip.data import DIGIT_WORDS, NOT_A_DIGIT
from mnist_clip.text_encoder import UnknownCaptionError, text_to_label
from mnist_clip.zh import chinese_digits, spelled, with_digits

ROOT = Path(__file__).resolve().parents[1]

@pytest.mark.parametrize('caption, digit', [
    ('七', 7), ('数字七', 7), ('一个手写的数字七', 7), ('这张图片上写的是三', 3), ('一张写着五的图片', 5),
    ('第一个数字是八', 8), ('零', 0), ('〇', 0), ('两', 2), ('手写数字7', 7), ('写得很粗的九', 9), ('一模一样的四', 4)])
def test_chinese_sentences_name_their_digit(caption, digit):
    assert text_to_label(caption) == digit

@pytest.mark.parametrize('caption, problem', [
    ('三和五', '提到了不止一个类别：三（three）、五（five）'), ('十七', '没有提到任何类别'),
    ('一些手写的数字', '没有提到任何类别'), ('三角形', '没有提到任何类别'), ('三张图', '没有提到任何类别')])
def test_counts_numbers_and_words_are_not_digits_and_the_message_is_chinese(caption, problem):
    with pytest.raises(UnknownCaptionError) as e: text_to_label(caption)
    assert problem in str(e.value) and '例如“一个手写的数字七”' in str(e.value), str(e.value)

def test_not_a_digit_in_chinese_and_english_messages_stay_english():
    assert text_to_label('这不是数字', DIGIT_WORDS + (NOT_A_DIGIT,)) == 10
    with pytest.raises(UnknownCaptionError, match='names no class'): text_to_label('a handwritten digit')
    assert with_digits('a handwritten digit seven') == 'a handwritten digit seven'
    assert chinese_digits('一个') == [] and spelled('一个笔画粗的七') == '一个笔画粗的 seven'

def test_predict_ranks_chinese_captions_with_the_shipped_model(cmds, mnist, tmp_path):
    "`mnist_clip_predict seven.png --captions '一个手写的数字七' '数字三'`: the seven's caption first."
    seven = tmp_path/'seven.png'
    Image.fromarray(mnist[2][0].numpy()).save(seven)
    assert int(mnist[3][0]) == 7
    r = cmds('mnist_clip_predict', seven, '--captions', '一个手写的数字七', '数字三')
    assert r.rc == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == str(seven) and lines[1].endswith('一个手写的数字七') and lines[2].endswith('数字三'), r.stdout
    r = cmds('mnist_clip_predict', seven, '--captions', '十七', '数字三')
    assert_user_error(r, 'mnist_clip_predict', '无法从“十七”读出一个类别', '没有提到任何类别')

def test_the_explorer_finds_sevens_for_qi(mnist):
    from mnist_clip.explorer import Explorer
    ex = Explorer(images=mnist[2][:2000], labels=mnist[3][:2000])
    found = ex.labels[ex.text_result('七')['idx']]
    assert (found == 7).all(), found
    assert torch.equal(ex.text_result('七')['idx'], ex.text_result('seven')['idx'])

@pytest.mark.parametrize('readme', ['README.md', 'README.zh-CN.md'])
def test_both_readmes_give_the_cpu_only_and_windows_commands(readme):
    text = (ROOT/readme).read_text(encoding='utf-8')
    assert 'pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu' in text
    assert '.venv\\Scripts\\Activate.ps1' in text and '.venv\\Scripts\\activate.bat' in text
    assert '$env:MNIST_CLIP_DATA' in text and 'py -m venv .venv' in text

def test_towers_that_read_words_get_chinese_digits_spelled_with_a_note(mnist):
    "The rich-caption model (MiniLM): '七' is read as 'seven' by the CLI and the explorer, and the CLI says so."
    from mnist_clip.checkpoint import RICH_DIR, load_model
    from mnist_clip.cli import read_captions
    from mnist_clip.explorer import Explorer
    rich = load_model(RICH_DIR, 'cpu')
    read, notes = read_captions(rich, ['一个笔画粗的七', '十七', 'a bold 7.'])
    assert read == ['一个笔画粗的 seven', '十七', 'a bold seven.'], read
    assert len(notes) == 2 and 'its digit in English' in notes[0] and 'no digit it can read' in notes[1], notes
    ex = Explorer(rich, images=mnist[2][:2000], labels=mnist[3][:2000])
    assert torch.equal(ex.text_result('七')['idx'], ex.text_result('seven')['idx'])
    probs = ex.image_result(mnist[2][0].numpy(), texts=['一个手写的七', 'a handwritten three'])['probs']
    assert int(mnist[3][0]) == 7 and probs[0] > .9, probs
