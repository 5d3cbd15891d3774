#!/usr/bin/env python
"""Save one picture per notebook for the course map in README.md / nbs/index.ipynb.

Takes a figure from each notebook's saved outputs (the one after a cell tagged with a
`#| course_picture` comment if there is one, else the first image) and writes it to
nbs/images/<notebook>.png. Run it after re-running the notebooks.
"""
import base64, json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def picture(nb_path:Path):
    "The PNG bytes of the notebook's course picture, or None."
    cells = [c for c in json.loads(nb_path.read_text(encoding='utf-8'))['cells'] if c['cell_type'] == 'code']
    tagged = [c for c in cells if '#| course_picture' in ''.join(c['source'])]
    for c in tagged + cells:
        for o in c.get('outputs', []):
            png = o.get('data', {}).get('image/png')
            if png: return base64.b64decode(''.join(png) if isinstance(png, list) else png)

def main():
    out = ROOT/'nbs'/'images'; out.mkdir(exist_ok=True)
    for nb in sorted((ROOT/'nbs').glob('[0-9][0-9]_*.ipynb')):
        png = picture(nb)
        if png is None: print(f'{nb.name}: no picture'); continue
        (out/f'{nb.stem}.png').write_bytes(png)
        print(f'{nb.name}: nbs/images/{nb.stem}.png ({len(png) // 1024} KB)')

if __name__ == '__main__': main()
