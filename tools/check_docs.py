#!/usr/bin/env python
"""Open every page of the built docs in a real (headless) browser and fail on what a reader would trip over.

Drives Debian's Chromium with Playwright (no browser download) over file:// URLs, and fails
(exit 1, one line per problem) when a page:
- shows its plumbing: front matter (`output-file:`, a `--- title:` block), Quarto attributes
  (`{target=`), a raw Markdown link, TeX that MathJax did not typeset, or a widget with no picture;
- has an internal link that does not resolve (the file is missing, is outside the site, or has no
  element with the #anchor), or an image that did not load (naturalWidth 0);
- has no navigation (a <nav> with a link to another page);
- requests anything from the network (an offline site loads nothing) or throws a JavaScript error.
It saves one screenshot per page (top of the page, and the first widget picture) OUTSIDE the repository.

    python tools/build_docs.py && python tools/check_docs.py             # _docs/, shots in /tmp/mnist_clip_docs_shots
    python tools/check_docs.py --site path/to/site --shots /tmp/shots
"""
import argparse, re, shutil, subprocess, sys
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--allow-file-access-from-files']
PLUMBING = [(re.compile(r'output-file:'), 'front matter visible (`output-file:`)'),
            (re.compile(r'^\s*---\s*\n\s*(title|description):', re.M), 'front matter visible (a `---` block)'),
            (re.compile(r'\{target='), 'Quarto attribute markup visible (`{target=`)'),
            (re.compile(r'\]\((?:https?://|[\w./-]+\.html)[^)\s]*\)'), 'a raw Markdown link visible')]
CJK = re.compile(r'[\u3400-\u9fff\uf900-\ufaff]')

PAGE_JS = """() => {
  const md = [...document.querySelectorAll('.jp-MarkdownCell')].map(e => e.innerText).join('\\n');
  return {
    text: document.body ? document.body.innerText : '',
    mdText: md,
    links: [...document.querySelectorAll('a[href]')].map(a => ({href: a.href, raw: a.getAttribute('href'), inNav: !!a.closest('nav')})),
    images: [...document.images].map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0})),
    navs: document.querySelectorAll('nav').length,
    missingWidgets: document.querySelectorAll('.widget-missing-picture').length,
    liveWidgets: document.querySelectorAll('.jupyter-widgets').length,
    mathErrors: document.querySelectorAll('.MathJax_Error, merror').length,
  };
}"""

def _ids(path:Path, cache:dict) -> set:
    if path not in cache:  # nbconvert percent-encodes non-ASCII heading ids (Chinese headings): compare them decoded, as links are
        cache[path] = {unquote(i) for i in re.findall(r'\b(?:id|name)="([^"]+)"', path.read_text(encoding='utf-8', errors='replace'))}
    return cache[path]

def _file_of(url:str) -> tuple[Path, str]:
    u = urlparse(url)
    p = Path(unquote(u.path))
    if p.is_dir(): p = p/'index.html'
    return p, unquote(u.fragment)

def link_problems(page:Path, info:dict, site:Path, ids_cache:dict, forbid:str|None) -> list:
    "Internal links that do not resolve, images that did not load, no navigation."
    probs, site = [], site.resolve()
    for l in info['links']:
        href, raw = l['href'], l['raw']
        if forbid and href.startswith(forbid): probs.append(f'link to the published docs site instead of the local page: {raw}'); continue
        scheme = urlparse(href).scheme
        if scheme in ('http', 'https', 'mailto', 'javascript', 'data'): continue
        if scheme != 'file': probs.append(f'link with an unexpected scheme: {raw}'); continue
        target, frag = _file_of(href)
        if site not in target.resolve().parents and target.resolve() != site: probs.append(f'link leaves the site: {raw}'); continue
        if not target.is_file(): probs.append(f'broken link (no such file): {raw}'); continue
        if frag and target.suffix == '.html' and frag not in _ids(target, ids_cache): probs.append(f'broken link (no #{frag} on {target.name}): {raw}')
    for i in info['images']:
        if not i['ok']: probs.append(f"image did not load: {i['src'][:120]}")
    if not any(l['inNav'] and _file_of(l['href'])[0].resolve() != page.resolve() for l in info['links'] if l['href'].startswith('file:')):
        probs.append('no navigation (no <nav> with a link to another page)')
    return probs

def text_problems(info:dict) -> list:
    probs = [why for pat, why in PLUMBING if pat.search(info['text'])]
    if '$$' in info['mdText'] or info['mathErrors']: probs.append('maths not typeset (raw `$$` or a MathJax error)')
    if info['missingWidgets']: probs.append(f"{info['missingWidgets']} widget(s) with no picture: save them as nbs/images/<notebook>_widget<k>.png (tools/widget_pictures.py)")
    if info['liveWidgets']: probs.append(f"{info['liveWidgets']} live widget output(s) that static HTML shows as nothing")
    return probs

def cjk_font() -> bool:
    "Whether a font with Chinese glyphs is installed (fontconfig), so CJK text renders."
    if not shutil.which('fc-list'): return False
    return bool(subprocess.run(['fc-list', ':lang=zh'], capture_output=True, text=True).stdout.strip())

def pages_of(site:Path) -> list:
    "Every page of the site: the notebooks' pages first (index first), then the rest (e.g. src/*.html)."
    top = sorted(site.glob('*.html'), key=lambda p: (p.name != 'index.html', p.name))
    rest = sorted(p for p in site.rglob('*.html') if p.parent != site and 'mathjax' not in p.relative_to(site).parts)
    return top + rest

def check_site(site:Path, shots:Path|None=None, chromium='/usr/bin/chromium', forbid:str|None=None, log=print, only=None) -> dict:
    "{page: [problems]} for every page of `site` (or the pages named in `only`); screenshots of the top-level pages into `shots`."
    from playwright.sync_api import sync_playwright
    site = site.resolve()
    pages = pages_of(site) if only is None else [site/p for p in only]
    if not pages: return {site: ['no pages (*.html) in the site']}
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
        for old in shots.glob('*.png'): old.unlink()  # screenshots of pages that no longer exist must not linger
    result, ids_cache = {}, {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        ctx = browser.new_context(viewport={'width': 1280, 'height': 900})
        ctx.route(re.compile(r'^(?!file:|data:|about:|blob:).*'), lambda route: route.abort())  # offline: nothing from the network
        for page_path in pages:
            page, probs = ctx.new_page(), []
            page.on('request', lambda r, probs=probs: probs.append(f'requests from the network: {r.url[:120]}')
                    if not r.url.startswith(('file:', 'data:', 'about:', 'blob:')) else None)
            page.on('pageerror', lambda e, probs=probs: probs.append(f'JavaScript error: {str(e)[:160]}'))
            page.goto(page_path.as_uri(), wait_until='load', timeout=60_000)
            page.evaluate("() => window.MathJax && MathJax.Hub ? new Promise(r => MathJax.Hub.Queue(r)) : null")  # typeset first
            info = page.evaluate(PAGE_JS)
            probs += text_problems(info) + link_problems(page_path, info, site, ids_cache, forbid)
            if CJK.search(info['text']) and not cjk_font(): probs.append('Chinese text but no CJK font installed (apt-get install fonts-noto-cjk)')
            if shots and page_path.parent == site:
                page.screenshot(path=str(shots/f'{page_path.stem}.png'))
                w = page.locator('figure.widget-picture').first
                if w.count(): w.scroll_into_view_if_needed(); w.screenshot(path=str(shots/f'{page_path.stem}_widget.png'))
            page.close()
            result[page_path] = list(dict.fromkeys(probs))
            rel = page_path.relative_to(site)
            log(f'{rel}: ' + ('ok' if not result[page_path] else f'{len(result[page_path])} problem(s)'))
            for pr in result[page_path]: log(f'    {pr}')
        browser.close()
    return result

def _forbidden_prefix() -> str|None:
    "The published docs site from settings.ini, if it is a real URL: the local site must not link there."
    try:
        from nbdev.config import get_config
        cfg = get_config()
        host = str(cfg.get('doc_host', ''))
        return host.rstrip('/') + '/' + str(cfg.get('doc_baseurl', '')).strip('/') if host.startswith('http') else None
    except Exception: return None

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--site', default=str(ROOT/'_docs'), help='the built site (python tools/build_docs.py writes _docs/)')
    ap.add_argument('--shots', default='/tmp/mnist_clip_docs_shots', help='where screenshots go (keep it out of the repository)')
    ap.add_argument('--chromium', default='/usr/bin/chromium', help="Chromium's executable (Debian: apt-get install chromium)")
    a = ap.parse_args()
    site, shots = Path(a.site), Path(a.shots).resolve()
    if not Path(a.chromium).exists(): sys.exit(f'{a.chromium} not found: install Chromium (Debian: apt-get install chromium fonts-noto-cjk) or pass --chromium')
    if not site.is_dir(): sys.exit(f'{site} not found: build it first (python tools/build_docs.py)')
    if ROOT in shots.parents or shots == ROOT: sys.exit(f'--shots {shots} is inside the repository: put screenshots elsewhere')
    if not cjk_font(): print('warning: no CJK font installed (apt-get install fonts-noto-cjk): Chinese text would show as boxes')
    result = check_site(site, shots, a.chromium, _forbidden_prefix())
    bad = {p: probs for p, probs in result.items() if probs}
    print(f'{len(result)} pages checked, {len(bad)} with problems; screenshots in {shots}/')
    if bad:
        print('FAILED:')
        for p, probs in bad.items():
            for pr in probs: print(f'  {p.relative_to(site.resolve())}: {pr}')
        sys.exit(1)

if __name__ == '__main__': main()
