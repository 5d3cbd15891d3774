#!/usr/bin/env python
"""Open a course notebook in JupyterLab in a real (headless) browser, run it, and check what rendered.

Starts JupyterLab on loopback, drives Debian's Chromium with Playwright (no browser download),
opens the notebook, runs all cells with the live kernel, and waits for a CSS selector to appear
(by default the inference explorer widget). Saves a screenshot outside the repository.

    python tools/check_jupyterlab.py                       # notebook 09, waits for the explorer
    python tools/check_jupyterlab.py --nb nbs/00_data.ipynb --selector .jp-RenderedImage
"""
import argparse, os, secrets, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync']

def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def start_lab(port, token):
    cmd = [sys.executable, '-m', 'jupyter', 'lab', '--no-browser', '--allow-root', '--ip=127.0.0.1', f'--port={port}',
           f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={ROOT}', '--ServerApp.open_browser=False']
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(120):
        try:
            urllib.request.urlopen(f'http://127.0.0.1:{port}/api/status?token={token}', timeout=2); return proc
        except Exception: time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGTERM)
    sys.exit('JupyterLab did not start within 60 s')

def check(nb, selector, timeout, shot, chromium):
    from playwright.sync_api import sync_playwright
    port, token = _free_port(), secrets.token_hex(16)
    lab = start_lab(port, token)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={'width': 1400, 'height': 1000})
            page.goto(f'http://127.0.0.1:{port}/lab/workspaces/check-{secrets.token_hex(4)}/tree/{nb}?reset&token={token}')  # a fresh workspace
            page.wait_for_selector('.jp-Notebook .jp-Cell', timeout=60_000)
            try:  # nbdev_clean strips the kernelspec, so JupyterLab asks which kernel to start
                page.click('.jp-Dialog button:has-text("Select")', timeout=15_000)
            except Exception: pass
            try: page.wait_for_function("document.body.innerText.includes('| Idle')", timeout=60_000)
            except Exception: pass  # the status text varies between versions: go on, Run All queues behind the kernel start
            page.click('.lm-MenuBar-itemLabel:text-is("Edit")')  # outputs saved in the file must not count
            page.click('.lm-Menu-itemLabel:text-is("Clear Outputs of All Cells")')
            page.click('.lm-MenuBar-itemLabel:text-is("Run")')
            page.click('.lm-Menu-itemLabel:text-is("Run All Cells")')
            t0 = time.time()
            page.wait_for_selector(selector, timeout=timeout * 1000, state='attached')
            if not page.locator('.jp-InputPrompt:has-text("[1]")').count(): raise RuntimeError('no cell was run by the kernel')
            el = page.locator(selector).first
            el.scroll_into_view_if_needed()
            time.sleep(1)
            found = {s: page.locator(f'{selector} {s}').count() for s in ('.widget-slider', '.widget-upload', '.widget-text', 'img', 'canvas', '.jupyter-widgets')}
            page.screenshot(path=str(shot))
            errors = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').count()
            browser.close()
        print(f'{selector} rendered {time.time() - t0:.0f} s after Run All; inside it: {found}; stderr outputs on the page: {errors}')
        print(f'screenshot: {shot}')
        return True
    finally:
        os.killpg(lab.pid, signal.SIGTERM)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--nb', default='nbs/09_explorer.ipynb', help='notebook path, relative to the repository')
    ap.add_argument('--selector', default='.mnist-clip-explorer', help='CSS selector that must appear')
    ap.add_argument('--timeout', type=int, default=300, help='seconds to wait for it after Run All')
    ap.add_argument('--screenshot', default='/tmp/mnist_clip_jupyterlab.png', help='where to save the screenshot (keep it out of the repo)')
    ap.add_argument('--chromium', default='/usr/bin/chromium', help="Chromium's executable (Debian: apt-get install chromium)")
    a = ap.parse_args()
    if not Path(a.chromium).exists(): sys.exit(f'{a.chromium} not found: install Chromium (Debian: apt-get install chromium) or pass --chromium')
    if not (ROOT/a.nb).exists(): sys.exit(f'{a.nb} not found in {ROOT}')
    try: check(a.nb, a.selector, a.timeout, Path(a.screenshot), a.chromium)
    except Exception as e: sys.exit(f'FAILED: {type(e).__name__}: {str(e).splitlines()[0]}')

if __name__ == '__main__': main()
