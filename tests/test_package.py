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
    r = _py('from mnist_clip.data import load_split; load_split("test")', tmp_path, MNIST_CLIP_DATA=str(empty))
    assert r.returncode != 0
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith('mnist_clip.data.DataRootError'), last
    for part in (str(empty/'MNIST'/'raw'), 'MNIST_CLIP_DATA', 't10k-images-idx3-ubyte'): assert part in last, part

def test_readme_matches_course_home():
    sys.path.insert(0, str(ROOT/'tools'))
    from index_to_readme import render
    assert (ROOT/'README.md').read_text(encoding='utf-8') == render(), 'README.md is out of date: run python tools/index_to_readme.py'
