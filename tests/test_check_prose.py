"The prose check (tools/check_prose.py) passes on every lesson and fails on a planted wrong number."
import importlib.util, json

from conftest import ROOT

spec = importlib.util.spec_from_file_location('check_prose', ROOT/'tools'/'check_prose.py')
cp = importlib.util.module_from_spec(spec); spec.loader.exec_module(cp)

def notebook(tmp_path, md, printed, name='99_planted.ipynb'):
    "A two-cell notebook: markdown `md`, then a code cell whose saved output is `printed`."
    cells = [{'cell_type': 'markdown', 'id': 'a', 'metadata': {}, 'source': [md]},
             {'cell_type': 'code', 'id': 'b', 'metadata': {}, 'execution_count': 1, 'source': ['print(acc)'],
              'outputs': [{'output_type': 'stream', 'name': 'stdout', 'text': [printed]}]}]
    p = tmp_path/name; p.write_text(json.dumps({'cells': cells, 'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5})); return p

def flagged(tmp_path, md, printed): return [w for _, w, _ in cp.check(notebook(tmp_path, md, printed))]

def test_every_lesson_passes():
    assert cp.main([]) == 0

def test_a_planted_wrong_number_fails(tmp_path, capsys):
    p = notebook(tmp_path, 'After one epoch the model reaches 97.3% and trains 12,000 images/s.', 'acc 0.9123, 10,566 images/s')
    assert cp.main([str(p)]) == 1
    out = capsys.readouterr().out
    assert "'97.3%' is printed by no cell" in out and "'12,000 images/s'" in out and '2 number(s)' in out

def test_what_backs_a_number(tmp_path):
    assert flagged(tmp_path, 'It reaches 91.2% in 1.1 s.', 'acc 0.9123 (1.06 s)') == []          # a fraction backs a percentage; rounding
    assert flagged(tmp_path, 'It reaches 91.2%.', 'acc 91.23%') == []
    assert flagged(tmp_path, 'The loss is 6.27 here.', 'loss 6.268') == []
    assert flagged(tmp_path, 'Affine costs about 20 times the shift.', 'shift 10 ms, affine 20 ms, 2.1x') == ['20 times']  # a bare 20 is no ratio
    assert flagged(tmp_path, 'Affine costs 2.1x the shift.', 'shift 10 ms, affine 21 ms: 2.1x') == []
    assert flagged(tmp_path, 'It takes 1.5 s.', '1460 ms') == []                                   # units of one kind convert
    assert flagged(tmp_path, 'It takes 1.5 s.', '1.5 MB') == ['1.5 s']                            # ...of another kind do not

def test_what_is_not_prose(tmp_path):
    md = 'Set `lr=0.035` ($\\tau = 0.07$), see [v2.4.1](https://x.org/a/3.5), a 28x28 image, version 2.4.14, ten epochs.'
    assert flagged(tmp_path, md, 'nothing') == []
    assert flagged(tmp_path, 'The temperature starts at 0.07.', 'nothing') == []  # allowed everywhere, with its source
