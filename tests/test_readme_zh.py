"""README.zh-CN.md (the Chinese home page, written by hand) keeps in step with README.md (generated from nbs/index.ipynb).

The prose is translated; what must not drift is what a learner acts on or compares: the course table (each row's
notebook link, module, reading and 'runs in' times and picture, in order), the commands in code blocks (each `mnist_clip_*` or
`torchrun` line's command and flags, comments aside), and the numbers of the Results section (every number with a
unit - %, s, images/s, or 秒, 张/秒 in Chinese -, with decimals or thousands separators, or in a table row; compared as written, without the unit).
When README.md changes, make the same change in README.zh-CN.md by hand; this test names what differs.
"""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EN, ZH = ROOT/'README.md', ROOT/'README.zh-CN.md'
RESULTS = {'en': 'Results', 'zh': '结果'}  # the Results section's heading in each language

def _text(p:Path) -> str: return p.read_text(encoding='utf-8')

def _time(cell:str) -> str:
    "'18 s', '18 秒', '18s' -> '18 s'; placeholders like LANG_S stay as they are."
    return re.sub(r'^(\d+(?:\.\d+)?)\s*(?:s|秒)$', r'\1 s', cell.strip())

def course_rows(md:str) -> list:
    "(notebook link, module, reading, runs in, picture) of each row of the course table that links a notebook, in order."
    rows = []
    for line in md.splitlines():
        if not line.startswith('|'): continue
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        m = re.search(r'\]\((nbs/\d\d_[\w-]+\.ipynb)\)', cells[0])
        if m and len(cells) >= 6: rows.append((m[1], cells[2], re.sub(r'\s*(?:min|分钟)$', ' min', cells[3]), _time(cells[4]), cells[5]))
    return rows

def commands(md:str) -> list:
    "Sorted (command, flags) of every line in a fenced code block that runs a `mnist_clip_*` command or `torchrun`."
    out = []
    for block in re.findall(r'```[^\n]*\n(.*?)```', md, re.S):
        for line in block.splitlines():
            code = re.sub(r'(^|\s)#.*$', '', line)  # the comment is translated; the command is not
            for part in re.split(r'&&|;|\|', code):
                m = re.search(r'\b(mnist_clip_\w+|torchrun)\b', part)
                if m: out.append((m[1], tuple(re.findall(r'(?<!\S)--?[A-Za-z][\w-]*', part[m.end():]))))
    return sorted(out)

def results(md:str) -> str:
    "The text of the Results section (`## Results` or `## 结果`), up to the next `## ` heading."
    titles = '|'.join(map(re.escape, RESULTS.values()))
    m = re.search(rf'^## (?:{titles})\s*$(.*?)(?=^## |\Z)', md, re.M | re.S)
    assert m, f'no Results section: a heading "## {RESULTS["en"]}" (README.md) or "## {RESULTS["zh"]}" (README.zh-CN.md)'
    return m[1]

NUM = r'\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?'
UNIT = r'\s?(?:%|images/s(?![A-Za-z])|张/秒|秒|s(?![A-Za-z]))'
NUMBER = re.compile(rf'(?<![\w.,/-])(?P<num>{NUM})(?![A-Za-z]|[.,]?\d)(?P<unit>{UNIT})?')

def result_numbers(md:str) -> set:
    """Every number of a Results section that a reader would compare: one with a unit (%, s, images/s; 秒, 张/秒),
    with decimals or thousands separators, or in a table row. Kept as written, without the unit: Chinese may put
    the unit elsewhere ('27,235 images/s' is '每秒 27,235 张图像')."""
    text = re.sub(r'`[^`\n]*`|\]\([^)]*\)|https?://\S+', ' ', md)  # code and link targets are not results
    nums = set()
    for line in text.splitlines():
        for m in NUMBER.finditer(line):
            if m['unit'] or line.startswith('|') or '.' in m['num'] or ',' in m['num']: nums.add(m['num'])
    return nums

def differences(en:str, zh:str) -> list:
    "What README.zh-CN.md (`zh`) lists differently from README.md (`en`): one line per difference, [] when in step."
    probs = []
    a, b = course_rows(en), course_rows(zh)
    if a != b:
        for i in range(max(len(a), len(b))):
            x, y = (a[i] if i < len(a) else None), (b[i] if i < len(b) else None)
            if x != y: probs.append(f'course table row {i + 1}: README.md has {x}, README.zh-CN.md has {y}')
    ca, cb = commands(en), commands(zh)
    for c in sorted(set(ca) - set(cb)): probs.append(f'command in README.md only: {c}')
    for c in sorted(set(cb) - set(ca)): probs.append(f'command in README.zh-CN.md only: {c}')
    na, nb = result_numbers(results(en)), result_numbers(results(zh))
    for n in sorted(na - nb): probs.append(f'result number in README.md only: {n}')
    for n in sorted(nb - na): probs.append(f'result number in README.zh-CN.md only: {n}')
    return probs

def test_chinese_readme_in_step():
    probs = differences(_text(EN), _text(ZH))
    assert not probs, 'README.zh-CN.md is out of step with README.md (edit it by hand):\n' + '\n'.join(probs)

def test_the_comparison_finds_what_it_compares():
    en = _text(EN)
    assert len(course_rows(en)) >= 15 and {c for c, _ in commands(en)} >= {'mnist_clip_train', 'mnist_clip_predict', 'mnist_clip_eval', 'torchrun'}
    assert {'99.16', '1.4', '15', '27,235', '89.6'} <= result_numbers(results(en))
    assert differences(en, en) == []

def _bump(zh:str, unit:str) -> str:
    "The Chinese edition with one more second (or minute) in notebook 07's row of the course table."
    row = next(l for l in zh.splitlines() if '[07_training](nbs/07_training.ipynb)' in l)
    return zh.replace(row, re.sub(rf'\| (\d+) {unit} \|', lambda m: f'| {int(m[1]) + 1} {unit} |', row, count=1))

@pytest.mark.parametrize('plant, finds', [
    (lambda zh: zh.replace('[05_zeroshot](nbs/05_zeroshot.ipynb)', '[05_zeroshot](nbs/05_zero_shot.ipynb)'), 'course table row 5'),
    (lambda zh: _bump(zh, '秒'), 'course table row 7'),
    (lambda zh: _bump(zh, '分钟'), 'course table row 7'),
    (lambda zh: zh.replace('mnist_clip_train --resume ', 'mnist_clip_train --restart '), "('mnist_clip_train', ('--resume',))"),
    (lambda zh: zh.replace('"$(which mnist_clip_train)" --loss sigmoid', '"$(which mnist_clip_train)"'), "--loss"),
    (lambda zh: zh.replace('99.49%', '99.48%'), '99.49'),
    (lambda zh: zh.replace('每秒 27,235 张图像', '每秒 27,000 张图像'), '27,235'),
    (lambda zh: zh.replace('4.2 秒后', '4.3 秒后'), '4.2'),
    (lambda zh: zh.replace('在 15 秒内', '在 16 秒内'), 'README.md only: 15'),
])
def test_a_planted_mismatch_fails(plant, finds):
    "Each kind of drift, planted in the Chinese edition, is reported."
    zh = _text(ZH)
    bad = plant(zh)
    assert bad != zh, 'the plant did not change anything: update this test to the current README.zh-CN.md'
    probs = differences(_text(EN), bad)
    assert any(finds in p for p in probs), probs

def test_editions_link_each_other():
    assert '](README.md)' in _text(ZH), 'README.zh-CN.md should link back to README.md'
    assert re.search(r'\]\([^)\s]*README\.zh-CN\.md\)', _text(EN)), (
        'README.md should link the Chinese edition: add a link to README.zh-CN.md under the title in nbs/index.ipynb, '
        'then python tools/index_to_readme.py')
