#!/usr/bin/env python
"""How long the course takes to read: prose at 150 words a minute, code at 15 lines a minute.

What counts is what a learner reads on the way through a lesson: markdown words (links' addresses and
HTML tags left out) and non-blank code lines (nbdev's `#|` directives left out). Exercises and their
solutions are not counted (everything from a heading 'Exercises' on), nor cells the docs site hides
(`#| hide`) or folds (`#| solution`). The core path is the course table's rows on the home page
(nbs/index.ipynb) before the row that says 'beyond the core path'.

    python tools/reading_time.py            # minutes per notebook, then the core path's total
    python tools/reading_time.py --core     # the core path's total only, one line
"""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORDS_PER_MIN, LINES_PER_MIN = 150, 15

def counts(nb:Path) -> tuple:
    "`(prose words, code lines)` a learner reads in notebook `nb`, exercises excluded."
    words = lines = 0
    for c in json.loads(nb.read_text(encoding='utf-8'))['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown' and re.match(r'#+\s*Exercises', src.strip()): break
        if re.search(r'^#\|\s*(hide|solution)\b', src, re.M): continue
        if c['cell_type'] == 'markdown': words += len(re.findall(r'\w+', re.sub(r'\]\([^)]*\)|<[^>]+>', ']', src)))
        else: lines += sum(1 for l in src.splitlines() if l.strip() and not l.strip().startswith('#|'))
    return words, lines

def minutes(nb:Path) -> float:
    w, l = counts(nb)
    return w / WORDS_PER_MIN + l / LINES_PER_MIN

def core_path(index:Path=ROOT/'nbs'/'index.ipynb') -> list:
    "The notebook names of the core path, in order, from the home page's course table."
    text = '\n'.join(''.join(c['source']) for c in json.loads(index.read_text(encoding='utf-8'))['cells'] if c['cell_type'] == 'markdown')
    core = []
    for line in text.splitlines():
        if 'beyond the core path' in line.lower(): break
        if m := re.match(r'\|\s*\[([^\]]+)\]\(([^)]+\.ipynb)\)', line): core.append(m.group(2))
    return core

def main():
    nbs = ROOT/'nbs'; core = core_path()
    total = sum(minutes(nbs/n) for n in core)
    if '--core' not in sys.argv:
        for nb in sorted(nbs.glob('[0-9][0-9]_*.ipynb')):
            w, l = counts(nb)
            print(f"{nb.stem:28s} {minutes(nb):5.0f} min  ({w:,} words, {l:,} code lines){'  core' if nb.name in core else ''}")
    print(f"core path: {total:.0f} minutes of reading ({len(core)} notebooks, prose at {WORDS_PER_MIN} words/min, code at {LINES_PER_MIN} lines/min, exercises excluded)")

if __name__ == '__main__': main()
