"""Every Chinese text of the course uses one term for one thing: the glossary's table '中文术语' (nbs/glossary.ipynb).

Scanned: README.zh-CN.md, the 中文摘要 of every notebook, and the Chinese columns of the glossary's tables; code spans
and code blocks are left out. A variant of the table's right column is flagged unless it lies inside a term of the
middle column (温度 inside 温度系数); a straight double quote in Chinese prose is flagged too (Chinese takes “…”).
"""
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLE = '## 中文术语'

def _cells(nb:Path) -> list:
    return [''.join(c['source']) for c in json.loads(nb.read_text(encoding='utf-8'))['cells']
            if c['cell_type'] == 'markdown']

def _prose(md:str) -> str:
    "`md` without code blocks and code spans."
    return re.sub(r'`[^`\n]*`', ' ', re.sub(r'```.*?```', ' ', md, flags=re.S))

def term_table() -> list:
    "`[(preferred terms, variants)]` from the glossary's Chinese term table."
    cell = next(c for c in _cells(ROOT/'nbs'/'glossary.ipynb') if c.startswith(TABLE))
    rows = [[x.strip() for x in line.strip().strip('|').split('|')] for line in cell.splitlines()
            if line.startswith('|') and not line.startswith('|---')][1:]
    split = lambda s: [w for w in re.split(r'[、，,]', s) if w.strip()]
    return [(split(r[1]), split(r[2])) for r in rows]

def _glossary_zh(cell:str) -> str:
    "The Chinese columns (2 and 4) of a glossary table's rows."
    rows = [line.strip().strip('|').split('|') for line in cell.splitlines() if line.startswith('| <a id=')]
    return '\n'.join(f'{r[1]}\n{r[3]}' for r in rows if len(r) >= 4)

def chinese_texts() -> dict:
    "`{where: Chinese prose}` of every text the table governs."
    texts = {'README.zh-CN.md': _prose((ROOT/'README.zh-CN.md').read_text(encoding='utf-8'))}
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        for i, c in enumerate(_cells(nb)):
            if c.startswith('**中文摘要**'): texts[f'{nb.name} 中文摘要'] = _prose(c)
    gl = [c for c in _cells(ROOT/'nbs'/'glossary.ipynb') if not c.startswith(TABLE)]
    texts['glossary.ipynb'] = _prose('\n'.join(_glossary_zh(c) for c in gl))
    return texts

def variants_in(text:str, table:list) -> list:
    "Each `(variant, context)` of `text` that is not part of a preferred term there."
    preferred = [p for ps, _ in table for p in ps]
    covered = {i for p in preferred for m in re.finditer(re.escape(p), text) for i in range(m.start(), m.end())}
    return [(v, text[max(0, m.start() - 8):m.end() + 8].replace('\n', ' ')) for _, vs in table for v in vs
            for m in re.finditer(re.escape(v), text) if not set(range(m.start(), m.end())) <= covered]

def straight_quotes(text:str) -> list:
    "Contexts of straight double quotes on a line with Chinese."
    return [line.strip()[:60] for line in text.splitlines() if '"' in line and re.search(r'[\u4e00-\u9fff]', line)]

def test_the_table_is_there_and_each_row_has_variants():
    table = term_table()
    assert len(table) >= 8, table
    assert all(ps and vs for ps, vs in table), table
    assert (['温度系数'], ['温度']) in table

def test_every_chinese_text_uses_the_tables_terms():
    table = term_table()
    found = {k: v for k, t in chinese_texts().items() if (v := variants_in(t, table))}
    assert not found, '\n'.join(f'{k}: {v!r} in ...{c}...' for k, hits in found.items() for v, c in hits)

def test_chinese_prose_takes_chinese_quotes():
    found = {k: q for k, t in chinese_texts().items() if (q := straight_quotes(t))}
    assert not found, found

def test_the_check_flags_a_variant_and_spares_a_preferred_term():
    table = [(['温度系数'], ['温度']), (['批次', '批大小'], ['批'])]
    assert variants_in('除以温度系数；批大小为 256，每个批次', table) == []
    assert [v for v, _ in variants_in('除以温度；每批', table)] == ['温度', '批']
    assert straight_quotes('句子 "a seven" 里') and not straight_quotes('a "quoted" English line')
