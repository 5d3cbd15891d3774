"The offline docs: tools/build_docs.py's rewriting, and tools/check_docs.py failing on a planted broken page (needs Chromium)."
import re, shutil, sys
from pathlib import Path

import nbformat, pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
import build_docs  # noqa: E402

CFG = {'doc_host': 'https://example.github.io', 'doc_baseurl': '/mnist_clip', 'git_url': 'https://github.com/example/mnist_clip',
       'branch': 'main', 'lib_path': 'mnist_clip', 'title': 'mnist_clip'}
SHOW_DOC = ('---\n\n[source](https://github.com/example/mnist_clip/blob/main/mnist_clip/clip.py#L21){target="_blank" style="float:right"}\n\n'
            '### CLIP\n\n```python\ndef CLIP(\n    image:dict=None, # [`ImageEncoderConfig`](https://example.github.io/mnist_clip/image_encoder.html#imageencoderconfig) fields\n):\n```\n\n*Two towers.*')

def test_show_doc_block():
    links = build_docs.Links({'01_image_encoder': 'image_encoder.html'}, CFG)
    html = build_docs.show_doc_block(SHOW_DOC, links)
    assert '{target=' not in html and '](' not in html and 'example.github.io' not in html
    assert 'href="src/clip.html#L-21"' in html and '<h3 class="api-name" id="clip">CLIP</h3>' in html
    assert '<a href="image_encoder.html#imageencoderconfig">ImageEncoderConfig</a>' in html

def test_links():
    links = build_docs.Links({'04_clip': 'clip.html', 'index': 'index.html'}, CFG)
    assert links('see [04](04_clip.ipynb#the-loss) and [home](nbs/index.ipynb)') == 'see [04](clip.html#the-loss) and [home](index.html)'
    assert links('[`train`](https://example.github.io/mnist_clip/training.html#train)') == '[`train`](training.html#train)'
    assert links('![map](nbs/images/04_clip.png)') == '![map](images/04_clip.png)'
    assert build_docs.slug('The loss, and why MNIST needs a different one') == 'the-loss-and-why-mnist-needs-a-different-one'

def _nb(path:Path, title:str, cells:list):
    fm = f"---\ndescription: A page about {title}; 中文也能显示.\noutput-file: {path.stem.split('_', 1)[-1]}.html\ntitle: {title}\n\n---\n"
    nbformat.write(new_notebook(cells=[new_raw_cell(fm)] + cells), path)

def _site(tmp_path:Path, index_md:str) -> Path:
    proc = tmp_path/'proc'; proc.mkdir()
    _nb(proc/'index.ipynb', 'Home', [new_markdown_cell(index_md)])
    md = SHOW_DOC.replace('image_encoder.html#imageencoderconfig', 'one.html#part-b')  # a link this tiny site can resolve
    show = new_code_cell('#| echo: false\n#| output: asis\nshow_doc(CLIP)',
                         outputs=[new_output('execute_result', {'text/markdown': md, 'text/plain': 'CLIP'}, execution_count=1)])
    _nb(proc/'01_one.ipynb', 'One', [new_markdown_cell('## Part B\n\nText with $x^2$ and a table.'), show])
    site = tmp_path/'site'
    build_docs.build(proc, site, CFG)
    return site

chromium = pytest.mark.skipif(not Path('/usr/bin/chromium').exists() or shutil.which('fc-list') is None,
                              reason='needs Debian Chromium (apt-get install chromium fonts-noto-cjk)')

@chromium
def test_check_passes_on_a_good_site_and_fails_on_planted_faults(tmp_path):
    pytest.importorskip('playwright')
    import check_docs
    site = _site(tmp_path, 'Start with [lesson one](01_one.ipynb#part-b); the API is [`CLIP`](one.html#clip).')
    good = check_docs.check_site(site, tmp_path/'shots', log=lambda *a: None)
    assert not any(good.values()), good
    assert (tmp_path/'shots'/'one.png').exists()
    # plant: a broken link, a missing anchor, visible Quarto markup, and a page with no navigation
    page = site/'one.html'
    page.write_text(page.read_text(encoding='utf-8').replace('</main>', '<p><a href="gone.html">gone</a> <a href="index.html#nowhere">x</a> '
                                                             'source{target="_blank"}</p></main>'), encoding='utf-8')
    (site/'bare.html').write_text('<html><body><p>no way out</p></body></html>', encoding='utf-8')
    bad = {p.name: probs for p, probs in check_docs.check_site(site, None, log=lambda *a: None, only=['index.html', 'one.html', 'bare.html']).items()}
    text = '\n'.join(bad['one.html'])
    assert 'broken link (no such file): gone.html' in text and 'no #nowhere on index.html' in text and '{target=' in text
    assert bad['bare.html'] == ['no navigation (no <nav> with a link to another page)']
    assert not bad['index.html']

def test_solutions_fold_with_their_outputs(tmp_path):
    "A worked solution folds whole on the site (code and outputs inside one <details>), and in JupyterLab (source and outputs hidden)."
    import json
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        for c in json.loads(nb.read_text(encoding='utf-8'))['cells']:
            if c['cell_type'] == 'code' and ''.join(c['source']).lstrip().startswith('#| solution'):
                j = c['metadata'].get('jupyter', {})
                assert j.get('source_hidden') and j.get('outputs_hidden'), f"{nb.name}: a solution cell is not folded: set metadata jupyter.source_hidden and outputs_hidden"
    proc = tmp_path/'proc'; proc.mkdir()
    _nb(proc/'index.ipynb', 'Home', [new_markdown_cell('# Home')])
    sol = new_code_cell('#| solution\nprint(6 * 7)', metadata={'jupyter': {'source_hidden': True, 'outputs_hidden': True}},
                        outputs=[new_output('stream', name='stdout', text='THE-ANSWER-42\n')])
    shown = new_code_cell('print(1)', outputs=[new_output('stream', name='stdout', text='PLAIN-OUTPUT\n')])
    _nb(proc/'01_one.ipynb', 'One', [new_markdown_cell('## Exercises'), shown, sol])
    site = tmp_path/'site'
    build_docs.build(proc, site, CFG)
    page = (site/'one.html').read_text(encoding='utf-8')
    folds = re.findall(r'<details class="solution">(.*?)</details>', page, re.S)
    assert len(folds) == 1 and 'THE-ANSWER-42' in folds[0] and '6' in folds[0], 'the solution and its output belong inside one fold'
    assert 'THE-ANSWER-42' not in page.replace(folds[0], '') and 'PLAIN-OUTPUT' in page.replace(folds[0], '')
