// Every kind of page, in both languages, in real Chromium at desktop width: no console error,
// 0 axe-core violations of WCAG 2.1 A/AA, one h1, the language switch and the hreflang
// alternates lead to the same page in the other language, and the document says which
// language it is in.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    LANGS,
    OTHER,
    axe,
    consoleErrors,
    fetchText,
    formatViolations,
    newDriver,
    open,
    pagesByKind,
    twinPath,
} from '../lib/site.mjs';

// The page kinds the issue names; each must exist in both languages. (`*` is one page of a
// kind, the largest, which has the most tables and charts; every sector page is checked.)
const REQUIRED = [
    'index',
    'enterprises/index',
    'enterprises/district/*',
    'enterprises/industry/*',
    'enterprises/type/*',
    'enterprises/*',
    'exceedances/index',
    'open-days/index',
    'open-days/*',
    'plan/index',
    'plan/*',
    'sectors/index',
    'sectors/*',
    'datasets/index',
    'datasets/*',
    'methodology',
    'about',
    'contact',
];

const pages = pagesByKind({ all: ['sectors/*'] });

let driver;
before(async () => {
    driver = await newDriver();
});
after(async () => {
    await driver?.quit();
});

test('the release has every page kind in both languages', () => {
    for (const lang of LANGS) {
        const kinds = new Set(pages.filter((p) => p.lang === lang).map((p) => p.kind));
        const missing = REQUIRED.filter((k) => !kinds.has(k));
        assert.deepEqual(missing, [], `${lang}: page kinds missing from the release`);
    }
    assert.ok(pages.some((p) => p.path === '/404.html'), 'the release has /404.html');
    assert.ok(pages.some((p) => p.path === '/index.html'), 'the release has the language choice /index.html');
    // The sector pages the issue names.
    for (const lang of LANGS) {
        for (const s of ['vehicles', 'waste', 'livestock']) {
            assert.ok(pages.some((p) => p.path === `/${lang}/sectors/${s}.html`), `/${lang}/sectors/${s}.html`);
        }
    }
});

test('an unknown address answers 404 with the not-found page', async () => {
    const r = await fetchText('/zh/no-such-page/');
    assert.equal(r.status, 404);
    assert.match(r.type, /^text\/html/);
    const page = await fetchText('/404.html');
    assert.equal(r.body, page.body, 'the 404 response is the 404 page');
});

for (const page of pages) {
    test(`${page.path} (${page.kind}): no console error, 0 axe violations, language switch`, async () => {
        await open(driver, page.path);
        const errors = await consoleErrors(driver);
        const violations = await axe(driver);
        const lang = await driver.executeScript('return document.documentElement.lang');
        const title = await driver.getTitle();
        const h1 = await driver.executeScript(
            "return [...document.querySelectorAll('h1')].map((h) => h.textContent.trim())",
        );
        const switchLink = await driver.executeScript(
            "const a = document.querySelector('a.lang-switch'); return a && { href: a.getAttribute('href'), hreflang: a.getAttribute('hreflang') };",
        );

        // Both reported in full, together, when either is found.
        const problems = [];
        if (errors.length) problems.push(`console errors on ${page.path}:\n  ${errors.join('\n  ')}`);
        if (violations.length) {
            problems.push(`${violations.length} axe-core violations on ${page.path}:\n${formatViolations(violations)}`);
        }
        assert.equal(problems.length, 0, problems.join('\n'));
        assert.ok(title.trim().length > 0, 'the page has a title');
        assert.equal(h1.length, 1, `exactly one h1 on ${page.path}: ${JSON.stringify(h1)}`);
        assert.ok(h1[0].length > 0, 'the h1 has text');
        if (page.lang === '-') {
            // The language choice and 404 pages are not in one language's tree.
            assert.ok(lang.length > 0, 'the document declares a language');
            return;
        }
        assert.match(lang, new RegExp(`^${page.lang}\\b`, 'i'), `<html lang> on ${page.path}`);
        assert.ok(switchLink, `a language switch on ${page.path}`);
        assert.equal(switchLink.href, twinPath(page.path), 'the switch leads to the same page');
        assert.match(switchLink.hreflang, new RegExp(`^${OTHER[page.lang]}\\b`, 'i'), 'the switch names its language');
        const twin = await fetchText(switchLink.href);
        assert.equal(twin.status, 200, `the twin ${switchLink.href} exists`);
        // hreflang alternates: the page itself, its twin, and the language choice as x-default.
        const alternates = await driver.executeScript(
            "return [...document.querySelectorAll('link[rel=alternate][hreflang]')].map((l) => [l.getAttribute('hreflang'), l.getAttribute('href')])",
        );
        const byLang = (code) => alternates.filter(([h]) => new RegExp(`^${code}\\b`, 'i').test(h)).map(([, href]) => href);
        assert.deepEqual(byLang(page.lang), [page.path], `hreflang alternate for the page itself: ${JSON.stringify(alternates)}`);
        assert.deepEqual(byLang(OTHER[page.lang]), [twinPath(page.path)], 'hreflang alternate for its twin');
        assert.ok(alternates.some(([h]) => h === 'x-default'), 'an x-default alternate');
    });
}
