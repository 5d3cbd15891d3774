#!/usr/bin/env python
"""Numbers in prose come from cells: flag every measured number in a notebook's markdown that none of its outputs prints.

A measured number is one with a unit the course measures in - a percentage (`99.16%`), seconds (`1.1 s`), a ratio
(`2.3x`), a speed (`10,566 images/s`), a size (`0.43 MB`) - or any number with a decimal point (`6.27`, `ln 26 = 3.26`).
It passes when some number in the notebook's saved outputs (stream text, `text/plain` results, error messages) rounds to
it at the precision the prose states, in the same kind of unit: `99.2%` is covered by a printed `99.16%` or `0.9916`,
`2x` by a printed `2.03x`, `1.5 s` by `1.46 s` or `1460 ms` (a number with decimals also by the same digits printed bare).
A setting the notebook's code writes down (`wd=0.05`, `pct_start=0.15`) backs a plain number or a percentage too.
Inline code, LaTeX and links are not prose and are skipped; so are shapes like `28x28`.

Facts from elsewhere (a paper's figure, a dataset's size, a constant the code sets) go in ALLOWED below, per notebook,
each with where it comes from. Run it after re-running the notebooks (`tools/run_course --inplace`):

    python tools/check_prose.py                 # every notebook in nbs/; exit status 1 if any number is unbacked
    python tools/check_prose.py nbs/04_clip.ipynb
"""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Numbers a notebook's prose may state without a cell printing them: notebook stem -> {number as written: its source}.
ALLOWED = {
    '*': {  # every notebook
        '0.07': 'CLIP paper (Radford et al. 2021, section 2.5): the initial temperature; a constant of the code',
        '14.3': '1/0.07, the initial logit scale that follows from the temperature above',
    },
    '03_text_encoder_plus': {'90 MB': 'the size of all-MiniLM-L6-v2 (model.safetensors on the Hugging Face Hub, sentence-transformers)'},
    '05_zeroshot': {'10%': 'chance with ten classes: 1 in 10', '50%': 'chance of recall@5 with ten captions: 5 in 10'},
    '07_training': {'10%': 'chance with ten classes: 1 in 10', '50%': 'chance of recall@5 with ten captions: 5 in 10'},
}

NUM = r'\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?'
UNIT = r'(?:%|\s?(?:images/s|img/s|MB|GB|KB|kB|ms|s|seconds|min|minutes|times)\b|\s?(?:x|×)(?![\dA-Za-z]|\s\d))'  # '64 x 9' is a product
MEASURED = re.compile(rf'(?<![\w.,/-])(?P<num>{NUM})(?P<unit>{UNIT})?(?![\w]|[.,]\d)')
SKIP = re.compile(r'```.*?```|`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]*\$|\]\([^)]*\)|<[^>\n]*>|https?://\S+|\b\d+x\d+\b'
                  r'|\b(?:[Ss]ection|[Vv]ersion|Python|torch|nbdev|Apache)\s\d+(?:\.\d+)*', re.S)  # shapes, sections, versions

# Each unit's family and its factor to the family's base unit: a number backs another only within one family.
UNITS = {'%': ('%', 1), 'x': ('x', 1), '×': ('x', 1), 'times': ('x', 1), 's': ('time', 1), 'seconds': ('time', 1),
         'ms': ('time', 1e-3), 'min': ('time', 60), 'minutes': ('time', 60), 'images/s': ('speed', 1), 'img/s': ('speed', 1),
         'KB': ('size', 1e-3), 'kB': ('size', 1e-3), 'MB': ('size', 1), 'GB': ('size', 1e3), '': ('', 1)}

def prose_numbers(md:str) -> list:
    "`(as written, value, decimals, unit, position)` of each measured number in a markdown cell."
    text = SKIP.sub(lambda m: ' ' * len(m[0]), md)  # blanked, so that positions still point into `md`
    out = []
    for m in MEASURED.finditer(text):
        num, unit = m['num'], (m['unit'] or '').strip()
        if not unit and '.' not in num: continue  # a plain whole number: a count, an index, a year
        out.append((num + (unit if unit in ('%', 'x', '×') else f' {unit}' if unit else ''), float(num.replace(',', '')),
                    len(num.split('.')[1]) if '.' in num else 0, unit, m.start()))
    return out

def output_text(cell) -> str:
    "Everything a code cell printed or returned, as text."
    parts = []
    for o in cell.get('outputs', []):
        if 'text' in o: parts.append(''.join(o['text']) if isinstance(o['text'], list) else o['text'])
        data = o.get('data', {})
        if 'text/plain' in data: parts.append(''.join(data['text/plain']) if isinstance(data['text/plain'], list) else data['text/plain'])
        if o.get('output_type') == 'error': parts.append(f"{o.get('ename', '')}: {o.get('evalue', '')}")
    return '\n'.join(parts)

PRINTED = re.compile(rf'(?<![\w.])-?(?P<num>(?:\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.\d+)?(?:e[-+]?\d+)?)(?P<unit>{UNIT})?')

def printed_values(text:str) -> list:
    "Every number in the outputs as `(value, unit)`; thousands separators and scientific notation understood."
    vals = []
    for m in PRINTED.finditer(text):
        try: vals.append((float(m['num'].replace(',', '')), (m['unit'] or '').strip()))
        except ValueError: pass
    return vals

def backed(value:float, decimals:int, unit:str, printed:list) -> bool:
    """Does a printed number round to `value` at `decimals` places, in the same family of units? A percentage is also
    backed by a printed fraction (0.9916 for 99.16%); a number with decimals also by the same digits printed bare."""
    fam, f = UNITS.get(unit, ('', 1))
    def rounds(v): return abs(round(v, decimals) - value) < 10 ** -(decimals + 3)
    for v, u in printed:
        pfam, pf = UNITS.get(u, ('', 1))
        if pfam == fam and rounds(abs(v) * pf / f): return True
        if fam == '%' and not u and abs(v) <= 1 and rounds(abs(v) * 100): return True
        if fam and not u and decimals and rounds(abs(v)): return True
    return False

# The lessons. The course home (index.ipynb) quotes the benchmark's tables, which bench/README.md keeps with their runs.
LESSONS = sorted((ROOT/'nbs').glob('[0-9][0-9]_*.ipynb'))

def check(nb_path:Path) -> list:
    "The unbacked numbers of one notebook: `(cell number, as written, the sentence around it)`."
    cells = json.loads(Path(nb_path).read_text(encoding='utf-8'))['cells']
    printed = printed_values('\n'.join(output_text(c) for c in cells if c['cell_type'] == 'code'))
    # A setting the notebook's own code writes down (`wd=0.05`, `pct_start=0.15`) backs a plain number or a percentage:
    # it is stated by a cell, not measured. Times, ratios, speeds and sizes must be printed.
    code = re.sub(r'(?<![\w.])\.(\d)', r'0.\1', '\n'.join(''.join(c['source']) for c in cells if c['cell_type'] == 'code'))  # .993 -> 0.993
    printed += [(v, '') for v, u in printed_values(code) if not u]
    allowed = {**ALLOWED['*'], **ALLOWED.get(Path(nb_path).stem, {})}
    bad = []
    for i, c in enumerate(cells):
        if c['cell_type'] != 'markdown': continue
        md = ''.join(c['source'])
        for written, value, decimals, unit, at in prose_numbers(md):
            if written.split()[0].rstrip('%x×') in allowed or written in allowed: continue
            if not backed(value, decimals, unit, printed):
                bad.append((i, written, ' '.join(md[max(0, at - 60):at + 40].split())))
    return bad

def main(argv=None):
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])] or LESSONS
    total = 0
    for p in paths:
        for i, written, where in check(p):
            print(f'{p.name}: cell {i}: {written!r} is printed by no cell of this notebook: ...{where}...'); total += 1
    print(f'{total} number(s) in prose that no output backs, in {len(paths)} notebook(s)' if total else
          f'every measured number in the prose of {len(paths)} notebook(s) is printed by a cell (or allowed, with its source)')
    return 1 if total else 0

if __name__ == '__main__': sys.exit(main())
