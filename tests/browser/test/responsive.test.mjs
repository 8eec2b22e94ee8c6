// The main page kinds at a phone's width (375 CSS px, mobile viewport), at desktop width and
// in print:
// nothing makes the page scroll sideways (wide tables scroll inside their own box), and a
// full-page PNG of each is kept under the test output folder's screenshots/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    LANGS,
    VIEWPORTS,
    consoleErrors,
    drainLog,
    newDriver,
    open,
    pagesByKind,
    pngSize,
    screenshot,
    setViewport,
} from '../lib/site.mjs';

const MAIN_KINDS = [
    'index',
    'search/index',
    'enterprises/index',
    'enterprises/district/*',
    'enterprises/*',
    'exceedances/index',
    'open-days/index',
    'open-days/*',
    'plan/index',
    'plan/*',
    'sectors/*',
    'datasets/index',
    'datasets/*',
    'methodology',
    'contact',
];

const all = pagesByKind();
const pages = all.filter((p) => LANGS.includes(p.lang) && MAIN_KINDS.includes(p.kind));
pages.push(...all.filter((p) => p.path === '/404.html' || p.path === '/index.html'));

let driver;
before(async () => {
    driver = await newDriver();
});
after(async () => {
    await driver?.quit();
});

test('the main page kinds are all there to check', () => {
    for (const lang of LANGS) {
        // search/index is checked when the page exists (see search.test.mjs).
        for (const kind of MAIN_KINDS.filter((k) => k !== 'search/index')) {
            assert.ok(pages.some((p) => p.lang === lang && p.kind === kind), `${lang} ${kind}`);
        }
    }
});

/// What sticks out of the viewport: elements whose box passes the right edge and that are not
/// inside a box that scrolls on its own.
const OVERFLOW = `
  const vw = document.documentElement.clientWidth;
  const scrolls = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip') return true;
    }
    return false;
  };
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && (r.right > vw + 1 || r.left < -1) && !scrolls(el)) {
      out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : '') + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
    }
  }
  return {
    viewport: vw,
    innerWidth: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    bodyScrollWidth: document.body.scrollWidth,
    offenders: out.slice(0, 15),
  };
`;

for (const w of VIEWPORTS) {
    for (const page of pages) {
        test(`${w.name} ${w.width}px ${page.path}: no sideways scrolling; screenshot`, async () => {
            await drainLog(driver);
            await setViewport(driver, w.width, w.height, w.mobile);
            await open(driver, page.path);
            const name = `${w.name}-${page.lang === '-' ? 'neutral' : page.lang}-${page.kind.replace(/\/\*$/, '-page').replace(/[/*]/g, '-')}`;
            const file = await screenshot(driver, name);
            const m = await driver.executeScript(OVERFLOW);
            assert.equal(m.viewport, w.width, 'the viewport has the width under test');
            assert.ok(
                m.scrollWidth <= m.viewport && m.bodyScrollWidth <= m.viewport,
                `${page.path} is ${m.scrollWidth}px wide at ${m.viewport}px; sticking out:\n  ${m.offenders.join('\n  ')}`,
            );
            assert.deepEqual(m.offenders, [], `${page.path}: elements past the viewport's edge`);
            const size = pngSize(file);
            assert.equal(size.width, w.width, `${file} is ${w.width}px wide`);
            assert.ok(size.height >= Math.min(w.height, 200), `${file} has the page's height`);
            const errors = await consoleErrors(driver);
            assert.deepEqual(errors, [], `console errors on ${page.path}:\n${errors.join('\n')}`);
        });
    }
}

// Print: the same pages under print media at the width of an A4 page's printable area
// (190 mm = 718 CSS px). Nothing may pass the right edge, not even inside a box that scrolls
// on screen: paper does not scroll, so it would be cut off.
const PRINT_WIDTH = 718;
const PRINT_OVERFLOW = `
  const vw = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > vw + 1) {
      out.push(el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : '') + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
    }
  }
  return { viewport: vw, scrollWidth: document.documentElement.scrollWidth, offenders: out.slice(0, 15) };
`;

for (const page of pages) {
    test(`print ${PRINT_WIDTH}px ${page.path}: nothing is cut off at the page's edge`, async () => {
        await drainLog(driver);
        await setViewport(driver, PRINT_WIDTH, 1000, false);
        await driver.sendAndGetDevToolsCommand('Emulation.setEmulatedMedia', { media: 'print' });
        try {
            await open(driver, page.path);
            const m = await driver.executeScript(PRINT_OVERFLOW);
            assert.equal(m.viewport, PRINT_WIDTH);
            assert.deepEqual(m.offenders, [], `${page.path} in print is ${m.scrollWidth}px wide:\n  ${m.offenders.join('\n  ')}`);
        } finally {
            await driver.sendAndGetDevToolsCommand('Emulation.setEmulatedMedia', { media: '' });
        }
        const errors = await consoleErrors(driver);
        assert.deepEqual(errors, [], `console errors on ${page.path}:\n${errors.join('\n')}`);
    });
}
