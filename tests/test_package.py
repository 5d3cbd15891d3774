"The installed package, seen from outside the repository."
import subprocess, sys
from configparser import ConfigParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def _setting(key):
    cfg = ConfigParser(delimiters=['=']); cfg.read(ROOT/'settings.ini', encoding='utf-8')
    return cfg['DEFAULT'][key]

def _py(code, tmp_path, **env):
    import os
    return subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)

def test_imports_from_outside_with_settings_version(tmp_path):
    r = _py('import mnist_clip, mnist_clip.data; print(mnist_clip.__version__); print(mnist_clip.__file__)', tmp_path)
    assert r.returncode == 0, r.stderr
    version, path = r.stdout.split()
    assert version == _setting('version')
    assert Path(path).resolve().parent == (ROOT/'mnist_clip').resolve()

def test_empty_data_root_gives_one_clear_message(tmp_path):
    empty = tmp_path/'empty'; empty.mkdir()
    r = _py('from mnist_clip.mnist_files import load_split; load_split("test")', tmp_path, MNIST_CLIP_DATA=str(empty))
    assert r.returncode != 0
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith('mnist_clip.mnist_files.DataRootError'), last
    for part in (str(empty/'MNIST'/'raw'), 'MNIST_CLIP_DATA', 't10k-images-idx3-ubyte'): assert part in last, part

def test_readme_matches_course_home():
    sys.path.insert(0, str(ROOT/'tools'))
    from index_to_readme import render
    assert (ROOT/'README.md').read_text(encoding='utf-8') == render(), 'README.md is out of date: run python tools/index_to_readme.py'

def test_readme_from_python_example_runs(tmp_path, mnist):
    "README.md's 'From Python' example runs as written, in a folder holding a picture of a seven (black on white)."
    import re
    from PIL import Image
    block = re.search(r'^## From Python\n.*?```python\n(.*?)```', (ROOT/'README.md').read_text(encoding='utf-8'), re.S | re.M)
    assert block, "README.md has no 'From Python' section with a python code block"
    Image.fromarray(255 - mnist[2][0].numpy()).resize((140, 140)).save(tmp_path/'seven.png')  # test image 0: a seven
    check = "\nassert model.class_names[pred.item()] == 'seven' and ranked[0, 1] > ranked[0, 0], (pred, ranked)"
    r = _py(block[1] + check, tmp_path)
    assert r.returncode == 0, r.stderr

def test_the_face_is_lazy_and_complete(tmp_path):
    "`import mnist_clip` loads no lesson; `import mnist_clip.data` loads neither the checkpoints nor transformers."
    r = _py('import sys, mnist_clip; print(sorted(m for m in sys.modules if m.startswith("mnist_clip")))', tmp_path)
    assert r.stdout.strip() == "['mnist_clip']", r.stdout + r.stderr
    r = _py('import sys, mnist_clip.data; print("mnist_clip.checkpoint" in sys.modules, "transformers" in sys.modules)', tmp_path)
    assert r.stdout.strip() == 'False False', r.stdout + r.stderr
    r = _py('import mnist_clip; print(all(getattr(mnist_clip, n) is not None for n in mnist_clip.__all__))', tmp_path)
    assert r.stdout.strip() == 'True', r.stderr
