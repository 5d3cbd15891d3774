#!/usr/bin/env python
"""Take a picture of each live widget of a notebook in JupyterLab, for the static docs.

Static HTML cannot run ipywidgets, so tools/build_docs.py shows nbs/images/<notebook>_widget<k>.png
in place of the k-th widget output (progress bars aside) with a note to run the notebook. This
starts JupyterLab (autosave off, so the notebook file is never written), runs the notebook in
headless Chromium as tools/check_jupyterlab.py does, and saves an element screenshot of each widget.

    python tools/widget_pictures.py nbs/09_explorer.ipynb      # then python tools/build_docs.py
"""
import argparse, json, os, signal, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from check_jupyterlab import CHROMIUM_ARGS, ROOT, _free_port, start_lab  # noqa: E402

WIDGET = 'application/vnd.jupyter.widget-view+json'
PROGRESS = '.widget-progress, .widget-hprogress, .progress'

def n_widgets(nb:Path) -> int:
    "How many widget outputs (progress bars aside) the saved notebook has: the build numbers them in this order."
    import re
    cells = json.loads(nb.read_text(encoding='utf-8'))['cells']
    outs = [o for c in cells if c['cell_type'] == 'code' for o in c.get('outputs', []) if WIDGET in o.get('data', {})]
    return sum(not re.search(r'\d+%\|', ''.join(o['data'].get('text/plain', ''))) for o in outs)

def shoot(nb:str, timeout:int, chromium:str) -> list:
    from playwright.sync_api import sync_playwright
    import secrets
    want = n_widgets(ROOT/nb)
    if not want: sys.exit(f'{nb} has no widget output saved: run it (tools/run_course --inplace) first')
    settings = Path(tempfile.mkdtemp())
    (settings/'@jupyterlab'/'docmanager-extension').mkdir(parents=True)
    (settings/'@jupyterlab'/'docmanager-extension'/'plugin.jupyterlab-settings').write_text('{"autosave": false}')
    os.environ['JUPYTERLAB_SETTINGS_DIR'] = str(settings)  # never write the notebook we are running
    port, token = _free_port(), secrets.token_hex(16)
    lab, saved = start_lab(port, token), []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={'width': 1200, 'height': 1000})
            page.goto(f'http://127.0.0.1:{port}/lab/workspaces/pics-{secrets.token_hex(4)}/tree/{nb}?reset&token={token}')
            page.wait_for_selector('.jp-Notebook .jp-Cell', timeout=60_000)
            try: page.click('.jp-Dialog button:has-text("Select")', timeout=15_000)
            except Exception: pass
            page.click('.lm-MenuBar-itemLabel:text-is("Edit")')
            page.click('.lm-Menu-itemLabel:text-is("Clear Outputs of All Cells")')
            page.click('.lm-MenuBar-itemLabel:text-is("Run")')
            page.click('.lm-Menu-itemLabel:text-is("Run All Cells")')
            t0 = time.time()
            while True:  # until the notebook ran through: no cell left queued or running ([*])
                done = page.locator('.jp-InputPrompt:has-text("[*]")').count() == 0 and page.locator('.jp-InputPrompt:has-text("[1]")').count()
                if done: break
                if time.time() - t0 > timeout: raise TimeoutError(f'{nb} did not finish within {timeout} s')
                time.sleep(2)
            time.sleep(2)
            n = page.evaluate("""() => {  // the outermost outputs holding a widget, progress bars aside, in page order
                const outs = [...document.querySelectorAll('.jp-OutputArea-output')].filter(o =>
                    o.querySelector('.jupyter-widgets') && !o.parentElement.closest('.jp-OutputArea-output') && !o.querySelector('%s'));
                outs.forEach((o, k) => o.setAttribute('data-widget-picture', k + 1));
                return outs.length; }""" % PROGRESS)
            if n != want: raise RuntimeError(f'{n} widgets rendered, the saved notebook has {want}')
            stem = Path(nb).stem
            for k in range(1, n + 1):
                o = page.locator(f'[data-widget-picture="{k}"]')
                o.scroll_into_view_if_needed(); time.sleep(0.5)
                path = ROOT/'nbs'/'images'/f'{stem}_widget{k}.png'
                o.screenshot(path=str(path)); saved.append(path)
            browser.close()
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
    return saved

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('nb', help='notebook path, relative to the repository, e.g. nbs/09_explorer.ipynb')
    ap.add_argument('--timeout', type=int, default=600, help='seconds the notebook may take to run')
    ap.add_argument('--chromium', default='/usr/bin/chromium')
    a = ap.parse_args()
    if not Path(a.chromium).exists(): sys.exit(f'{a.chromium} not found: apt-get install chromium')
    try: saved = shoot(a.nb, a.timeout, a.chromium)
    except Exception as e: sys.exit(f'FAILED: {type(e).__name__}: {str(e).splitlines()[0]}')
    for p in saved: print(f'{p.relative_to(ROOT)}  {p.stat().st_size // 1024} KB')

if __name__ == '__main__': main()
