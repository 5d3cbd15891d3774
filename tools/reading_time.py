#!/usr/bin/env python
"""How long the course takes to read, as a learner meets it in JupyterLab: prose at 150 words a minute, code at 15
lines a minute.

What counts is what a learner reads on the way through a lesson in JupyterLab, which shows every cell: markdown words
(links' addresses and HTML tags left out) and non-blank code lines (nbdev's `#|` directives left out), `#| hide` cells
included (hiding a cell folds it on the docs site, not in the notebook). Exercises and their solutions are not counted
(everything from a heading 'Exercises' on). The core path is the course table's rows on the home page
(nbs/index.ipynb) before the row that says 'beyond the core path'.

    python tools/reading_time.py            # minutes per notebook, then the core path's total
    python tools/reading_time.py --core     # the core path's total only, one line
    python tools/reading_time.py --update   # write the minutes into the home page's table and sentence (both editions)
"""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORDS_PER_MIN, LINES_PER_MIN = 150, 15

def counts(nb:Path) -> tuple:
    "`(prose words, code lines)` a learner reads in notebook `nb` in JupyterLab, exercises excluded."
    words = lines = 0
    for c in json.loads(nb.read_text(encoding='utf-8'))['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown' and re.match(r'#+\s*Exercises', src.strip()): break
        if re.search(r'^#\|\s*solution\b', src, re.M): continue
        if c['cell_type'] == 'markdown': words += len(re.findall(r'\w+', re.sub(r'\]\([^)]*\)|<[^>]+>', ']', src)))
        else: lines += sum(1 for l in src.splitlines() if l.strip() and not l.strip().startswith('#|'))
    return words, lines

def minutes(nb:Path) -> float:
    w, l = counts(nb)
    return w / WORDS_PER_MIN + l / LINES_PER_MIN

def _index_text(index:Path) -> str:
    return '\n'.join(''.join(c['source']) for c in json.loads(index.read_text(encoding='utf-8'))['cells']
                     if c['cell_type'] == 'markdown')

def core_path(index:Path=ROOT/'nbs'/'index.ipynb') -> list:
    "The notebook names of the core path, in order, from the home page's course table."
    core = []
    for line in _index_text(index).splitlines():
        if 'beyond the core path' in line.lower(): break
        if m := re.match(r'\|\s*\[([^\]]+)\]\(([^)]+\.ipynb)\)', line): core.append(m.group(2))
    return core

ROW = r'(\|\s*\[[^\]]+\]\((?:nbs/)?([\w-]+\.ipynb)\)\s*\|[^|]*\|[^|]*\|\s*)(\d+)( {unit}\s*\|)'

def update(text:str, unit:str, total_pattern:str, total:int) -> str:
    "The home page `text` with every row's reading minutes and the core path's total as measured now."
    text = re.sub(ROW.format(unit=unit), lambda m: f"{m[1]}{round(minutes(ROOT/'nbs'/m[2]))}{m[4]}", text)
    return re.sub(total_pattern, lambda m: m[0].replace(m[1], str(total)), text)

def main():
    nbs = ROOT/'nbs'; core = core_path()
    total = sum(minutes(nbs/n) for n in core)
    if '--update' in sys.argv:
        p = nbs/'index.ipynb'
        nb = json.loads(p.read_text(encoding='utf-8'))
        for c in nb['cells']:
            if c['cell_type'] == 'markdown':
                new = update(''.join(c['source']), 'min', r'about (\d+) minutes', round(total))
                c['source'] = new.splitlines(keepends=True)
        p.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
        zh = ROOT/'README.zh-CN.md'
        zh.write_text(update(zh.read_text(encoding='utf-8'), '分钟', r'约需 (\d+) 分钟', round(total)), encoding='utf-8')
    if '--core' not in sys.argv:
        for nb in sorted(nbs.glob('[0-9][0-9]_*.ipynb')):
            w, l = counts(nb)
            print(f"{nb.stem:28s} {minutes(nb):5.0f} min  ({w:,} words, {l:,} code lines){'  core' if nb.name in core else ''}")
    print(f"core path: {total:.0f} minutes of reading in JupyterLab ({len(core)} notebooks, prose at {WORDS_PER_MIN} "
          f"words/min, code at {LINES_PER_MIN} lines/min, hidden cells included, exercises excluded)")

if __name__ == '__main__': main()
