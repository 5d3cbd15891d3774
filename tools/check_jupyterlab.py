#!/usr/bin/env python
"""Open a course notebook in JupyterLab in a real (headless) browser, run it, and check what rendered.

Starts JupyterLab on loopback, drives Debian's Chromium with Playwright (no browser download),
opens the notebook, runs all cells with the live kernel, and waits for a CSS selector to appear
(by default the inference explorer widget). On the explorer notebook it then draws a digit on the
drawing pad with the mouse, reads the pad's answer and checks it names the digit drawn, and presses
the pad's clear button; then it types a description ("a bold three") into the rich-caption explorer's
caption box and checks that the test images it finds are threes. Saves screenshots outside the
repository. Exits non-zero on any failure.

    python tools/check_jupyterlab.py                       # notebook 09: the explorer, a "1" on the pad, a description
    python tools/check_jupyterlab.py --draw seven --pad-screenshot /tmp/pad.png
    python tools/check_jupyterlab.py --nb nbs/00_data.ipynb --selector .jp-RenderedImage
"""
import argparse, json, os, secrets, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPLORER_NB = 'nbs/09_explorer.ipynb'
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync']
PAD, ANSWER, CLEAR = '.mnist-clip-pad canvas', '.mnist-clip-pad-answer', '.mnist-clip-pad button:has-text("clear")'
# Digits to draw: strokes of (x, y) points as fractions of the pad's side, and the words the answer must contain.
DIGITS = {'one':   ([[(.50, .15), (.50, .85)]], 'digit one'),
          'seven': ([[(.25, .22), (.75, .22), (.42, .85)]], 'digit seven'),
          'zero':  ([[(.50, .15), (.72, .30), (.74, .65), (.50, .85), (.28, .65), (.28, .30), (.50, .15)]], 'digit zero')}

def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

# JupyterLab settings for the check: never save the notebook (Run All in the browser must not rewrite the
# committed outputs), and no "fetch news?" toast over the screenshots.
SETTINGS = {'@jupyterlab/docmanager-extension/plugin.jupyterlab-settings': {'autosave': False},
            '@jupyterlab/apputils-extension/notification.jupyterlab-settings': {'fetchNews': 'false'}}

def _settings_dir():
    d = Path(tempfile.mkdtemp(prefix='mnist_clip_lab_'))
    for name, value in SETTINGS.items(): (d/name).parent.mkdir(parents=True, exist_ok=True); (d/name).write_text(json.dumps(value))
    return d

def start_lab(port, token):
    d = _settings_dir()
    cmd = [sys.executable, '-m', 'jupyter', 'lab', '--no-browser', '--allow-root', '--ip=127.0.0.1', f'--port={port}',
           f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={ROOT}', '--ServerApp.open_browser=False',
           f'--LabApp.user_settings_dir={d}', f'--LabApp.workspaces_dir={d}/workspaces']
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    proc.settings_dir = d
    for _ in range(120):
        try:
            urllib.request.urlopen(f'http://127.0.0.1:{port}/api/status?token={token}', timeout=2); return proc
        except Exception: time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGTERM); shutil.rmtree(d, ignore_errors=True)
    sys.exit('JupyterLab did not start within 60 s')

def _wait_selector(page, selector, timeout):
    "Wait for `selector`; if it never comes, say which cell error stopped the notebook, when one did."
    try: page.wait_for_selector(selector, timeout=timeout * 1000, state='attached')
    except Exception:
        errs = page.evaluate('''[...document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
                                .map(e => e.textContent.trim()).filter(t => t.includes('Error'))''')
        why = f'; a cell failed: {errs[0].splitlines()[-1][:300]}' if errs else ''
        raise RuntimeError(f'{selector} did not appear within {timeout} s after Run All{why}') from None

def _answer(page): return page.locator(ANSWER).first.inner_text().strip()

def _wait_answer(page, words, timeout, what):
    "Wait until the pad's answer line contains `words`; raise with what it says instead."
    try: page.wait_for_function('([sel, w]) => { const e = document.querySelector(sel); return e && e.innerText.includes(w); }',
                                arg=[ANSWER, words], timeout=timeout * 1000)
    except Exception: raise RuntimeError(f'{what}: the pad answered {_answer(page)!r} within {timeout} s, expected {words!r}') from None

def draw(page, strokes, steps=12):
    "Draw `strokes` (fractions of the pad's side) on the pad with the mouse: press, move in small steps, release."
    box = page.locator(PAD).first.bounding_box()
    if not box or box['width'] < 50: raise RuntimeError(f'the pad has no usable size on the page: {box}')
    at = lambda p: (box['x'] + p[0] * box['width'], box['y'] + p[1] * box['height'])
    for s in strokes:
        page.mouse.move(*at(s[0])); page.mouse.down()
        for p in s[1:]: page.mouse.move(*at(p), steps=steps)
        page.mouse.up(); time.sleep(.3)

def check_pad(page, digit, timeout, pad_shot):
    "Draw `digit` on the pad, check the answer names it, optionally screenshot the pad, then clear it."
    strokes, words = DIGITS[digit]
    page.locator(PAD).first.scroll_into_view_if_needed()
    _wait_answer(page, 'draw a digit', timeout, 'before drawing')  # the pad is live: its kernel has answered once
    t0 = time.time(); draw(page, strokes)
    _wait_answer(page, words, 60, f'after drawing a {digit}')
    said = _answer(page)
    print(f'drew a {digit} on the pad: it answered {said!r} {time.time() - t0:.1f} s after the pen went down')
    if pad_shot:
        try: page.click('.jp-toast-button:has-text("No")', timeout=2_000)  # JupyterLab's "notify me of news?" toast, off the picture
        except Exception: pass
        page.wait_for_function('(sel) => [...document.querySelectorAll(sel)].some(i => i.naturalWidth > 0)', arg='.mnist-clip-pad img', timeout=30_000)
        time.sleep(.5); page.locator('.mnist-clip-pad').first.screenshot(path=str(pad_shot)); print(f'pad screenshot: {pad_shot}')
    page.click(CLEAR)
    _wait_answer(page, 'draw a digit', 30, 'after the clear button')
    return said

def check(nb, selector, timeout, shot, chromium, digit=None, pad_shot=None):
    from playwright.sync_api import sync_playwright
    port, token = _free_port(), secrets.token_hex(16)
    before = (ROOT/nb).stat().st_mtime_ns
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
            _wait_selector(page, selector, timeout)
            if not page.locator('.jp-InputPrompt:has-text("[1]")').count(): raise RuntimeError('no cell was run by the kernel')
            el = page.locator(selector).first
            el.scroll_into_view_if_needed()
            time.sleep(1)
            found = {s: page.locator(f'{selector} {s}').count() for s in ('.widget-slider', '.widget-upload', '.widget-text', 'img', 'canvas', '.jupyter-widgets')}
            print(f'{selector} rendered {time.time() - t0:.0f} s after Run All; inside it: {found}')
            if digit:
                _wait_selector(page, PAD, timeout)
                check_pad(page, digit, timeout, pad_shot)
            if nb == EXPLORER_NB: check_description(page, timeout)
            page.screenshot(path=str(shot))
            errors = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').count()
            browser.close()
        print(f'stderr outputs on the page: {errors}; screenshot: {shot}')
        if (ROOT/nb).stat().st_mtime_ns != before: raise RuntimeError(f'{nb} was saved by JupyterLab during the check: restore it (git diff)')
        return True
    finally:
        os.killpg(lab.pid, signal.SIGTERM); shutil.rmtree(lab.settings_dir, ignore_errors=True)

RICH = '.mnist-clip-rich-explorer'

def check_description(page, timeout, text='a bold three', digit=3):
    "Type a description into the rich-caption explorer's caption box, press Enter, and check that the test images it finds show `digit`."
    _wait_selector(page, RICH, timeout)
    box = page.locator(f'{RICH} .widget-text input').first
    box.scroll_into_view_if_needed(); box.fill(text); box.press('Enter')
    sel, want = f'{RICH} .widget-html', f"'{text}': labels of the top"
    try: page.wait_for_function('([sel, w]) => [...document.querySelectorAll(sel)].some(e => e.innerText.includes(w))', arg=[sel, want], timeout=60_000)
    except Exception: raise RuntimeError(f'the rich-caption explorer did not answer {text!r} within 60 s') from None
    said = next(t for t in page.locator(sel).all_inner_texts() if want in t).strip()
    labels = [int(v) for v in said.split('[')[1].split(']')[0].split(',')]
    print(f'typed {text!r} into the rich-caption explorer: {said!r}')
    if sum(l == digit for l in labels) < len(labels) - 1: raise RuntimeError(f'{text!r} found digits {labels}, expected mostly {digit}s')
    return said

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--nb', default=EXPLORER_NB, help='notebook path, relative to the repository')
    ap.add_argument('--selector', default='.mnist-clip-explorer', help='CSS selector that must appear')
    ap.add_argument('--timeout', type=int, default=300, help='seconds to wait for it after Run All')
    ap.add_argument('--draw', choices=[*DIGITS, 'none'], default=None,
                    help=f'digit to draw on the drawing pad and expect back (default: one on {EXPLORER_NB}, none elsewhere)')
    ap.add_argument('--screenshot', default='/tmp/mnist_clip_jupyterlab.png', help='where to save the screenshot (keep it out of the repo)')
    ap.add_argument('--pad-screenshot', default=None, help='also save a picture of the pad after drawing (e.g. /tmp/mnist_clip_pad.png)')
    ap.add_argument('--chromium', default='/usr/bin/chromium', help="Chromium's executable (Debian: apt-get install chromium)")
    a = ap.parse_args()
    if not Path(a.chromium).exists(): sys.exit(f'{a.chromium} not found: install Chromium (Debian: apt-get install chromium) or pass --chromium')
    if not (ROOT/a.nb).exists(): sys.exit(f'{a.nb} not found in {ROOT}')
    digit = (a.draw or ('one' if a.nb == EXPLORER_NB else 'none'))
    try: check(a.nb, a.selector, a.timeout, Path(a.screenshot), a.chromium, None if digit == 'none' else digit, a.pad_screenshot)
    except Exception as e: sys.exit(f'FAILED: {type(e).__name__}: {str(e).splitlines()[0]}')

if __name__ == '__main__': main()
