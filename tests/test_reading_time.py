"""The home page quotes the reading time that tools/reading_time.py measures: the core path's total in the prose,
and each notebook's minutes in the course table's 'reading' column (README.md is generated from nbs/index.ipynb,
README.zh-CN.md by hand; both must agree with the notebooks as they are)."""
import re, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
from reading_time import core_path, counts, minutes  # noqa: E402

def _index_md() -> str:
    import json
    return '\n'.join(''.join(c['source']) for c in json.loads((ROOT/'nbs'/'index.ipynb').read_text(encoding='utf-8'))['cells']
                     if c['cell_type'] == 'markdown')

def test_counts_as_jupyterlab_shows_skipping_exercises_and_solutions(tmp_path):
    import json
    cell = lambda kind, src: {'cell_type': kind, 'metadata': {}, 'source': src, **({'outputs': [], 'execution_count': None} if kind == 'code' else {})}
    nb = {'cells': [cell('markdown', 'one two three [four](glossary.ipynb#x) <b>five</b>'),
                    cell('code', '#| export\nx = 1\n\ny = 2'),
                    cell('code', '#| hide\nz = 3'),
                    cell('code', '#| solution\nw = 4'),
                    cell('markdown', '## Exercises\n\nmany more words here'),
                    cell('code', 'after = 5')], 'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}
    p = tmp_path/'nb.ipynb'; p.write_text(json.dumps(nb))
    assert counts(p) == (5, 3)                      # link addresses and tags are not words; directives and blanks not lines;
    assert minutes(p) == pytest.approx(5 / 150 + 3 / 15)  # hidden cells count (JupyterLab shows them), solutions do not

def test_core_path_is_the_table_before_beyond():
    core = core_path()
    assert core[0] == '00_data.ipynb' and 'core_path.ipynb' in core
    assert '03_text_encoder_plus.ipynb' not in core and '11_language.ipynb' not in core

@pytest.mark.parametrize('readme', ['index', 'README.zh-CN.md'])
def test_home_page_quotes_the_measured_reading_time(readme):
    md = _index_md() if readme == 'index' else (ROOT/readme).read_text(encoding='utf-8')
    total = round(sum(minutes(ROOT/'nbs'/n) for n in core_path()))
    quoted = re.findall(r'about (\d+) minutes' if readme == 'index' else r'约需 (\d+) 分钟', md)
    assert quoted == [str(total)], f'{readme} quotes {quoted} minutes for the core path; tools/reading_time.py measures {total}: update the sentence'
    unit = 'min' if readme == 'index' else '分钟'
    for line in md.splitlines():
        m = re.match(r'\|\s*\[[^\]]+\]\((?:nbs/)?([\w-]+\.ipynb)\)\s*\|[^|]*\|[^|]*\|\s*(\d+) ' + unit + r'\s*\|', line)
        if m:
            want = round(minutes(ROOT/'nbs'/m[1]))
            assert int(m[2]) == want, f"{readme}: {m[1]} says {m[2]} {unit} of reading; tools/reading_time.py measures {want}: update the table"

def test_tool_prints_the_total():
    out = subprocess.run([sys.executable, str(ROOT/'tools'/'reading_time.py'), '--core'], capture_output=True, text=True, check=True).stdout
    assert re.match(r'core path: \d+ minutes of reading in JupyterLab \(\d+ notebooks', out), out

def test_counts_as_the_workplace_hook_does():
    "tools/reading_time.py counts each notebook as ../shared/hooks/reading_time.py does (JupyterLab's view), when it is there."
    hook = ROOT.parent/'shared'/'hooks'/'reading_time.py'
    if not hook.exists(): pytest.skip('no ../shared/hooks/reading_time.py beside this clone')
    out = subprocess.run([sys.executable, str(hook), str(ROOT/'nbs')], capture_output=True, text=True, check=True).stdout
    theirs = {l.split()[0]: int(l.split()[1]) for l in out.splitlines() if ' min in JupyterLab ' in l}
    for nb, m in theirs.items():
        assert round(minutes(ROOT/'nbs'/f'{nb}.ipynb')) == m, f'{nb}: tools/reading_time.py {minutes(ROOT/"nbs"/f"{nb}.ipynb"):.1f}, hook {m}'
