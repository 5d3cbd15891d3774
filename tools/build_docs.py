#!/usr/bin/env python
"""Render every notebook to HTML in _docs/, offline (no Quarto needed).

Where Quarto is installed, `nbdev_docs` builds the full site. Offline, this runs nbdev's own
docs processing (`nbdev.serve.proc_nbs`: hidden cells dropped, `show_doc` rendered, exports
removed) into _proc/, then `nbconvert`'s HTML exporter writes one page per notebook plus an
index. Any error - in processing, in a cell output, in rendering - exits non-zero.
"""
import re, shutil, sys
from pathlib import Path

import nbformat, yaml
from nbconvert import HTMLExporter
from traitlets.config import Config

ROOT = Path(__file__).resolve().parents[1]
DIRECTIVE = re.compile(r'^\s*#\|\s*(.*)$')

def _frontmatter_to_title(cell):
    "nbdev turns the `# Title` + `> subtitle` cell into YAML frontmatter; turn it back into a heading."
    src = cell.source.strip()
    if cell.cell_type != 'markdown' or not src.startswith('---'): return
    meta = yaml.safe_load(src.strip('-')) or {}
    cell.source = f"# {meta.get('title', '')}\n\n> {meta.get('description', '')}".rstrip('> \n')

def _apply_directives(cell):
    "Quarto cell options nbdev leaves behind: `echo: false` hides the code, `include: false` the whole cell."
    if cell.cell_type != 'code': return
    lines = cell.source.splitlines()
    opts = [m.group(1).strip() for l in lines if (m := DIRECTIVE.match(l))]
    cell.source = '\n'.join(l for l in lines if not DIRECTIVE.match(l))
    tags = cell.metadata.setdefault('tags', [])
    if 'echo: false' in opts: tags.append('remove_input')
    if 'include: false' in opts: tags.append('remove_cell')

def render(nb_path:Path, out_dir:Path) -> Path:
    "One processed notebook -> one HTML page; raises if any cell output is an error."
    nb = nbformat.read(nb_path, as_version=4)
    errors = [o for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', []) if o.get('output_type') == 'error']
    if errors: raise RuntimeError(f"{nb_path.name} has an error output: {errors[0].get('ename')}: {errors[0].get('evalue')}")
    nb.cells = [c for c in nb.cells if c.get('source', '').strip() or c.get('outputs')]
    if nb.cells: _frontmatter_to_title(nb.cells[0])
    for c in nb.cells:
        _apply_directives(c)
        if c.cell_type == 'markdown': c.source = re.sub(r'\]\((?:nbs/)?([\w-]+)\.ipynb\)', r'](\1.html)', c.source)  # links between pages
    c = Config()
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_input_tags = ('remove_input',)
    c.TagRemovePreprocessor.remove_cell_tags = ('remove_cell',)
    html, _ = HTMLExporter(config=c).from_notebook_node(nb)
    out = out_dir/nb_path.with_suffix('.html').name
    out.write_text(html, encoding='utf-8')
    return out

def main():
    from nbdev.serve import proc_nbs
    proc = proc_nbs(force=True)
    out_dir = ROOT/'_docs'; out_dir.mkdir(exist_ok=True)
    nbs = sorted(p for p in Path(proc).glob('*.ipynb'))
    if not nbs: sys.exit('no notebooks were processed')
    pages = [render(p, out_dir) for p in nbs]
    if (ROOT/'nbs'/'images').exists(): shutil.copytree(ROOT/'nbs'/'images', out_dir/'images', dirs_exist_ok=True)
    for p in pages: print(f'{p.relative_to(ROOT)}  {p.stat().st_size // 1024} KB')
    print(f'{len(pages)} pages in {out_dir.relative_to(ROOT)}/ (open _docs/index.html)')

if __name__ == '__main__': main()
