#!/usr/bin/env python
"""Write README.md from nbs/index.ipynb, offline.

`nbdev_readme` needs Quarto, which cannot be installed everywhere. The course home
(`nbs/index.ipynb`) is the source: its markdown cells, and the source of its code cells
as fenced Python blocks, become README.md. `--check` exits 1 if README.md is out of date.
"""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def render(nb_path=ROOT/'nbs'/'index.ipynb') -> str:
    "The README text for the course home notebook."
    cells = json.loads(Path(nb_path).read_text(encoding='utf-8'))['cells']
    parts = []
    for c in cells:
        src = ''.join(c['source']).strip()
        if not src or src.startswith('#|'): continue  # directives-only or hidden cells stay out
        if c['cell_type'] == 'markdown':  # links and pictures are relative to nbs/ in the notebook, to the root in README
            src = re.sub(r'\]\((images/|\d\d_[\w-]+\.ipynb|glossary\.ipynb|core_path\.ipynb)', r'](nbs/\1', src)
            src = src.replace('](../', '](')  # a file beside nbs/, e.g. bench/README.md
            parts.append(src)
        else: parts.append(f'```python\n{src}\n```')
    return '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    text, readme = render(), ROOT/'README.md'
    if '--check' in sys.argv:
        ok = readme.exists() and readme.read_text(encoding='utf-8') == text
        print('README.md matches nbs/index.ipynb' if ok else 'README.md is out of date: run python tools/index_to_readme.py')
        sys.exit(0 if ok else 1)
    readme.write_text(text, encoding='utf-8')
    print(f'wrote {readme}')
