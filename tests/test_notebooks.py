"Every notebook in nbs/ runs as a test, the nbdev way (cells flagged with settings.ini's tst_flags are skipped)."
from configparser import ConfigParser
from pathlib import Path

import pytest
import nbdev.test as nt  # a bare `from nbdev.test import test_nb` would be collected by pytest as a test

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted(p for p in (ROOT/'nbs').rglob('*.ipynb')
             if not any(part.startswith(('_', '.')) for part in p.relative_to(ROOT/'nbs').parts))

def _tst_flags():
    cfg = ConfigParser(delimiters=['=']); cfg.read(ROOT/'settings.ini', encoding='utf-8')
    return cfg['DEFAULT']['tst_flags'].split()

@pytest.mark.parametrize('nb', NBS, ids=[p.name for p in NBS])
def test_notebook(nb, nb_flags):
    ok, secs = nt.test_nb(nb, skip_flags=_tst_flags(), force_flags=nb_flags, basepath=ROOT)
    assert ok, f'{nb.name} failed after {secs:.1f} s (its traceback is printed above)'

def test_found_the_course():
    assert {'index.ipynb', '00_data.ipynb'} <= {p.name for p in NBS}
