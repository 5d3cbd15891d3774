#!/usr/bin/env python
"""Build the course site in _docs/, offline (no Quarto, nothing loaded from the internet).

Where Quarto is installed, `nbdev_docs` builds the full site. Offline, this runs nbdev's own docs
processing (`nbdev.serve.proc_nbs`: hidden cells dropped, `show_doc` run, exports removed) into
_proc/, then nbconvert's HTML exporter with the template in tools/docs_templates/course/ writes one
page per notebook, named as Quarto names it (front matter `output-file`, e.g. clip.html):

- the front matter becomes the page's title and subtitle; no `In [ ]:` prompts;
- a sidebar (home, lessons, appendices: titles starting "Appendix") and previous / next, in file order;
- `show_doc` output becomes an API block whose "source" link opens the module as a local page
  (src/<module>.html#L-<line>); links to notebooks and to the docs site become local links;
- a live widget becomes a picture, nbs/images/<notebook>_widget<k>.png (tools/widget_pictures.py
  takes them in JupyterLab), with a note to run the notebook; tqdm progress bars are dropped;
- maths is typeset by a local copy of MathJax 2 (the jupyter-server-mathjax package).

Any error - in processing, in a cell output, in rendering - exits non-zero. tools/check_docs.py
opens every page in Chromium and checks it.

    python tools/build_docs.py          # then open _docs/index.html
"""
import ast, html, os, re, shutil, sys
from pathlib import Path

import nbformat, yaml
from jinja2 import Environment, FileSystemLoader
from nbconvert import HTMLExporter
from nbconvert.filters import markdown2html
from nbdev.doclinks import _get_exps
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer, TextLexer, guess_lexer_for_filename
from traitlets.config import Config

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT/'tools'/'docs_templates'
DIRECTIVE = re.compile(r'^\s*#\|\s*(.*)$')
WIDGET = 'application/vnd.jupyter.widget-view+json'
PROGRESS = re.compile(r'\d+%\|')  # tqdm's text: `name:  40%|####      | 4/10 [...]`
MATHJAX_URL = 'mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe'
WIDGET_NOTE = 'A picture of the live widget: run the notebook in JupyterLab to use it.'

def slug(text:str) -> str:
    "The id Pandoc (so Quarto) gives a heading: lower case, spaces to '-', only letters, digits, `_-.` kept."
    s = re.sub(r'[^\w\s.-]', '', text.strip().lower())
    return re.sub(r'\s+', '-', s)

def settings() -> dict:
    from nbdev.config import get_config
    cfg = get_config()
    return {k: str(cfg.get(k, '')) for k in ('doc_host', 'doc_baseurl', 'git_url', 'branch', 'lib_path', 'title')}

def front_matter(nb) -> dict:
    "nbdev turns the `# Title` + `> subtitle` cell into YAML front matter: read it and drop the cell."
    if not nb.cells: return {}
    src = nb.cells[0].source.strip()
    if nb.cells[0].cell_type not in ('raw', 'markdown') or not src.startswith('---'): return {}
    nb.cells.pop(0)
    return yaml.safe_load(src.strip('-')) or {}

class Links:
    "Rewrite the links nbdev and the notebooks write into links inside _docs/."
    def __init__(self, pages:dict, cfg:dict):
        self.pages = pages  # notebook stem -> output file
        site = cfg['doc_host'].rstrip('/') + '/' + cfg['doc_baseurl'].strip('/')
        self.site = site.rstrip('/') + '/' if cfg['doc_host'].startswith('http') else None
        self.src = re.compile(re.escape(cfg['git_url'].rstrip('/')) + r'/blob/[^/]+/' + re.escape(cfg['lib_path']) + r'/([\w/]+)\.py(?:#L(\d+))?')
        self.nb = re.compile(r'(?P<pre>\]\(|href=")(?:\./)?(?:nbs/)?(?P<stem>[\w-]+)\.ipynb')
        self.files = set()  # repository files the notebooks link to, shown as pages (repo_pages)

    def source(self, m): return f"src/{m.group(1)}.html" + (f"#L-{m.group(2)}" if m.group(2) else '')

    def __call__(self, text:str) -> str:
        if self.site: text = text.replace(self.site, '')  # a published docs site -> the page here
        text = self.src.sub(self.source, text)
        text = self.nb.sub(lambda m: m['pre'] + self.pages.get(m['stem'], m['stem'] + '.ipynb'), text)
        text = re.sub(r'(\]\(|src=")(?:\./)?nbs/images/', r'\1images/', text)
        return REPO_LINK.sub(self.repo_file, text)

    def repo_file(self, m):
        "A link from a notebook to another file of the repository (e.g. ../bench/README.md) -> that file as a page here."
        path = (ROOT/'nbs'/m['path']).resolve()
        if ROOT not in path.parents or not path.is_file() or path.suffix in ('.ipynb', '.png', '.jpg', '.svg', '.gif'): return m.group(0)
        rel = path.relative_to(ROOT)
        self.files.add(rel)
        return f"]({repo_page(rel)}{m['frag'] or ''})"

REPO_LINK = re.compile(r'\]\((?!\w+:|#|/)(?P<path>[^)\s#]+)(?P<frag>#[^)\s]*)?\)')

def repo_page(rel:Path) -> str: return f"repo/{rel.as_posix()}.html"

MD_LINK = re.compile(r'\[`?([^\]`]+)`?\]\(([^)\s]+)\)')

def show_doc_block(md:str, links:Links) -> str:
    "A `show_doc` Markdown output (Quarto attribute syntax) -> an API block in plain HTML + Markdown."
    md = links(md)
    md = re.sub(r'^\s*---\s*\n', '', md)
    source = ''
    m = re.search(r'\[source\]\(([^)]+)\)(\{[^}]*\})?\s*\n', md)
    if m:
        source = f'<a class="api-source" href="{html.escape(m.group(1))}" title="the code of this function">source</a>'
        md = md[:m.start()] + md[m.end():]
    def heading(m):
        n, name = len(m.group(1)), m.group(2).strip()
        return f'<h{n} class="api-name" id="{slug(name)}">{html.escape(name)}</h{n}>\n'
    md = re.sub(r'^\s*(#{2,6}) (.+)\n', heading, md, count=1)
    def signature(m):  # a code block cannot hold links: write it as HTML, docments' links made real
        code = html.escape(m.group(1))
        code = MD_LINK.sub(lambda l: f'<a href="{l.group(2)}">{l.group(1)}</a>', code)
        return f'<pre class="api-signature"><code>{code}</code></pre>\n'
    md = re.sub(r'```python\n(.*?)\n```\n?', signature, md, flags=re.S)
    return f'<div class="api-block">\n{source}\n{md.strip()}\n\n</div>'

def is_show_doc(md:str) -> bool: return bool(re.match(r'\s*---\s*\n+(\[source\]|#{2,6} )', md))

def apply_directives(cell):
    "Quarto cell options nbdev leaves behind: `echo: false` hides the code, `include: false` the whole cell."
    if cell.cell_type != 'code': return
    lines = cell.source.splitlines()
    opts = [m.group(1).strip() for l in lines if (m := DIRECTIVE.match(l))]
    cell.source = '\n'.join(l for l in lines if not DIRECTIVE.match(l)).strip('\n')
    tags = cell.metadata.setdefault('tags', [])
    if 'echo: false' in opts: tags.append('remove_input')
    if 'include: false' in opts: tags.append('remove_cell')

def widget_picture(stem:str, k:int) -> dict:
    "What stands in for a live widget: its picture from nbs/images/ (or a note that it is missing) and how to use it."
    name = f'{stem}_widget{k}.png'
    if (ROOT/'nbs'/'images'/name).exists():
        body = f'<img src="images/{name}" alt="the widget, as it looks in JupyterLab">'
        cls = 'widget-picture'
    else:
        print(f'  warning: no picture for widget {k} of {stem}: save one as nbs/images/{name} (python tools/widget_pictures.py)')
        body, cls = '', 'widget-picture widget-missing-picture'
    return {'text/html': f'<figure class="{cls}">{body}<figcaption>{WIDGET_NOTE}</figcaption></figure>'}

def prepare(nb, stem:str, links:Links):
    "Turn a processed notebook into what the page shows. Raises on an error output."
    errors = [o for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', []) if o.get('output_type') == 'error']
    if errors: raise RuntimeError(f"{stem} has an error output: {errors[0].get('ename')}: {errors[0].get('evalue')}")
    nb.cells = [c for c in nb.cells if c.get('source', '').strip() or c.get('outputs')]
    k = 0
    for c in nb.cells:
        apply_directives(c)
        if c.cell_type == 'markdown': c.source = links(c.source); continue
        if c.cell_type != 'code': continue
        outs = []
        for o in c.get('outputs', []):
            data = o.get('data', {})
            if WIDGET in data:
                if PROGRESS.search(str(data.get('text/plain', ''))): continue  # a progress bar: nothing to show once done
                k += 1
                o.data = widget_picture(stem, k)
            elif 'text/markdown' in data:
                md = data['text/markdown']
                data['text/markdown'] = show_doc_block(md, links) if is_show_doc(md) else links(md)
            outs.append(o)
        c.outputs = outs
    return nb

HEADING = re.compile(r'<h([1-6]) id="([^"]*)">(.*?)</h\1>', re.S)

def add_heading_anchors(page:str) -> str:
    "Headings keep nbconvert's ids (JupyterLab's, `The-loss`) and also answer to Pandoc's (`the-loss`)."
    ids = set(re.findall(r' id="([^"]*)"', page))
    def anchor(m):
        s = slug(html.unescape(re.sub(r'<[^>]+>|¶', '', m.group(3))))
        if not s or s in ids: return m.group(0)
        ids.add(s)
        return f'<h{m.group(1)} id="{m.group(2)}"><span class="anchor" id="{s}"></span>{m.group(3)}</h{m.group(1)}>'
    return HEADING.sub(anchor, page)

def exporter() -> HTMLExporter:
    c = Config()
    c.HTMLExporter.extra_template_basedirs = [str(TEMPLATES)]
    c.HTMLExporter.template_name = 'course'
    c.HTMLExporter.exclude_input_prompt = True
    c.HTMLExporter.exclude_output_prompt = True
    c.HTMLExporter.mathjax_url = MATHJAX_URL
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_input_tags = ('remove_input',)
    c.TagRemovePreprocessor.remove_cell_tags = ('remove_cell',)
    return HTMLExporter(config=c)

def course_order(nbs:list) -> list:
    "index first, then the notebooks in file order (00_..., 01_..., then the appendices), the core path's one-page summary right after 10."
    return sorted(nbs, key=lambda p: (p.stem != 'index', '10~' if p.stem == 'core_path' else p.stem))

def nav_groups(pages:list) -> list:
    home = [p for p in pages if p['stem'] == 'index']
    appx = [p for p in pages if p['title'].lower().startswith('appendix')]
    lessons = [p for p in pages if p not in home and p not in appx]
    return [(g, ps) for g, ps in (('Lessons', lessons), ('Appendices', appx)) if ps]

def write_page(out:Path, out_dir:Path, course:dict, **kw):
    "A non-notebook page (page.html.j2) at `out`, its sidebar links relative to where it sits."
    tpl = Environment(loader=FileSystemLoader(TEMPLATES/'course'), autoescape=False).get_template('page.html.j2')
    depth = len(out.relative_to(out_dir).parts) - 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(tpl.render(course=dict(course, root='../' * depth, this=None), **kw), encoding='utf-8')

def source_pages(out_dir:Path, cfg:dict, course:dict, by_stem:dict):
    "mnist_clip/*.py as pages with one anchor per line (#L-12), for the API blocks' 'source' links."
    fmt = HtmlFormatter(linenos='table', lineanchors='L', anchorlinenos=True)
    lib = ROOT/cfg['lib_path']
    for py in sorted(lib.rglob('*.py')):
        rel = py.relative_to(lib).with_suffix('')
        text = py.read_text(encoding='utf-8')
        nbs = [by_stem[Path(m).stem] for m in re.findall(r'File to edit: \S*?([\w-]+\.ipynb)', text) if Path(m).stem in by_stem]
        root = '../' * len(rel.parts)
        made = ', '.join(f'<a href="{root}{nb["file"]}">{html.escape(nb["title"])}</a>' for nb in nbs)
        sub = f'Generated from {made} by <code>nbdev_export</code>: edit the notebook, not this file.' if made else ''
        write_page(out_dir/'src'/f'{rel}.html', out_dir, course, title=f"{lib.name}/{rel.as_posix()}.py", subtitle=sub,
                   body=highlight(text, PythonLexer(), fmt), css=fmt.get_style_defs('.source'), kind='source')

def md_links(text:str, rel:Path, pages:dict, files:set) -> str:
    "The relative links of a repository Markdown file `rel` -> links from its page in repo/: notebooks to their pages, pictures to images/, README.md to the home page, other files to their repo pages (added to `files`)."
    up = '../' * len(rel.parts)  # from repo/<rel>.html back to the site's root
    def fix(m):
        path = (ROOT/rel).parent/m['path']
        if not path.resolve().is_relative_to(ROOT) or not path.exists(): return m.group(0)
        target = path.resolve().relative_to(ROOT)
        if target.suffix == '.ipynb': return f"]({up}{pages.get(target.stem, target.stem + '.html')}{m['frag'] or ''})"
        if target.parts[:2] == ('nbs', 'images'): return f"]({up}images/{'/'.join(target.parts[2:])})"
        if target == Path('README.md'): return f"]({up}index.html{m['frag'] or ''})"
        files.add(target); return f"]({up}{repo_page(target)}{m['frag'] or ''})"
    return REPO_LINK.sub(fix, text)

def repo_pages(out_dir:Path, course:dict, files:set, pages:dict):
    "Files of the repository that notebooks link to: Markdown rendered (its links made links of the site), anything else highlighted."
    fmt = HtmlFormatter(linenos='table', lineanchors='L', anchorlinenos=True)
    done = set()
    while todo := sorted(set(files) - done):  # a Markdown page may link to more files of the repository
        rel = todo[0]; done.add(rel)
        text = (ROOT/rel).read_text(encoding='utf-8', errors='replace')
        if rel.suffix == '.md': body, css, kind = add_heading_anchors(markdown2html(md_links(text, rel, pages, files))), '', 'jp-RenderedHTMLCommon markdown'
        else:
            try: lexer = guess_lexer_for_filename(rel.name, text)
            except Exception: lexer = TextLexer()
            body, css, kind = highlight(text, lexer, fmt), fmt.get_style_defs('.source'), 'source'
        write_page(out_dir/repo_page(rel), out_dir, course, title=rel.as_posix(), subtitle='A file of the repository.', body=body, css=css, kind=kind)

def resolve_dangling(pages:list, out_dir:Path, cfg:dict):
    "A doc link to a symbol that has no API block on its page (e.g. a private helper) -> its line in the source page."
    ids = {p: set(re.findall(r' id="([^"]*)"', p.read_text(encoding='utf-8'))) for p in pages}
    modidx = ROOT/cfg['lib_path']/'_modidx.py'
    if not modidx.exists(): return
    syms = ast.literal_eval(modidx.read_text(encoding='utf-8').split('=', 1)[1])['syms']
    target = {doc.split('/')[-1]: (mod, sym, py) for mod, d in syms.items() for sym, (doc, py) in d.items()}
    for p in pages:
        def fix(m):
            page, anchor = m.group(1), m.group(2)
            if (out_dir/page) not in ids or anchor in ids[out_dir/page] or f'{page}#{anchor}' not in target: return m.group(0)
            mod, sym, py = target[f'{page}#{anchor}']
            line = _get_exps(py).get(sym.removeprefix(mod + '.'))
            src = Path(*Path(py).parts[1:]).with_suffix('.html').as_posix()  # mnist_clip/cli.py -> cli.html
            return f'href="src/{src}' + (f'#L-{line}"' if line else '"')
        text = p.read_text(encoding='utf-8')
        new = re.sub(r'href="([\w-]+\.html)#([^"]+)"', fix, text)
        if new != text: p.write_text(new, encoding='utf-8')

def copy_assets(out_dir:Path):
    shutil.copy(TEMPLATES/'course'/'course.css', out_dir/'course.css')
    if (ROOT/'nbs'/'images').exists(): shutil.copytree(ROOT/'nbs'/'images', out_dir/'images', dirs_exist_ok=True)
    import jupyter_server_mathjax
    mj = Path(jupyter_server_mathjax.__file__).parent/'static'
    shutil.copytree(mj, out_dir/'mathjax', dirs_exist_ok=True, ignore=shutil.ignore_patterns('*.otf', '*.eot', '*.svg'))

def build(proc:Path, out_dir:Path, cfg:dict) -> list:
    "Every processed notebook in `proc` -> a page in `out_dir`; returns the pages written."
    nbs = course_order([p for p in proc.glob('*.ipynb')])
    if not nbs: sys.exit(f'no notebooks in {proc}')
    read = [(p, nbformat.read(p, as_version=4)) for p in nbs]
    pages = []
    for p, nb in read:
        fm = front_matter(nb)
        pages.append({'stem': p.stem, 'file': fm.get('output-file', p.stem + '.html'), 'title': str(fm.get('title', p.stem)),
                      'description': str(fm.get('description', '')), 'number': p.stem.split('_')[0] if re.match(r'\d+_', p.stem) else ''})
        short = re.sub(r'^appendix:\s*', '', pages[-1]['title'], flags=re.I)  # the sidebar's group says it
        pages[-1]['nav_title'] = short[:1].upper() + short[1:]
    by_stem = {p['stem']: p for p in pages}
    links = Links({s: p['file'] for s, p in by_stem.items()}, cfg)
    course = {'site_title': cfg['title'] or 'Docs', 'groups': nav_groups(pages), 'root': ''}
    if out_dir.exists(): shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    ex, written = exporter(), []
    for i, ((p, nb), page) in enumerate(zip(read, pages)):
        nb = prepare(nb, p.stem, links)
        nb.metadata['title'] = page['title']
        has_math = any(c.cell_type == 'markdown' and '$' in c.source for c in nb.cells)
        ctx = dict(course, this=page['file'], title=page['title'], title_id=slug(page['title']) or 'title', description=page['description'],
                   description_html=markdown2html(html.escape(page['description'], quote=False)).strip().removeprefix('<p>').removesuffix('</p>'),
                   prev=pages[i - 1] if i else None, next=pages[i + 1] if i + 1 < len(pages) else None, has_math=has_math)
        body, _ = ex.from_notebook_node(nb, resources={'course': ctx})
        out = out_dir/page['file']
        out.write_text(add_heading_anchors(body), encoding='utf-8')
        written.append(out)
    resolve_dangling(written, out_dir, cfg)
    source_pages(out_dir, cfg, course, by_stem)
    repo_pages(out_dir, course, links.files, links.pages)
    copy_assets(out_dir)
    return written

def main():
    from nbdev.serve import proc_nbs
    os.chdir(ROOT)  # nbdev finds settings.ini from the working directory
    proc = Path(proc_nbs(force=True))
    out_dir = ROOT/'_docs'
    written = build(proc, out_dir, settings())
    for p in written: print(f'{p.relative_to(ROOT)}  {p.stat().st_size // 1024} KB')
    print(f'{len(written)} pages in {out_dir.relative_to(ROOT)}/ - open {out_dir.relative_to(ROOT)}/index.html in a browser; '
          f'python tools/check_docs.py checks them')

if __name__ == '__main__': main()
