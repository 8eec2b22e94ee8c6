// SEARCH PAGE TESTS: full-text search of the site with Pagefind, in real Chromium.
//
// The contract (issue 11; site-generator/src/pages/search.rs and src/search_index.rs):
// `/{lang}/search/` has a GET form `#search-form` with `<input id="search-q" name="q">`, filter
// selects `#search-district`, `#search-type`, `#search-section` (filled from the index) and
// `#search-lang`; with JavaScript it reads `?q=` (and the filters), searches the index of the
// page's language and fills `<ol id="search-results">` with `<li><h2><a href>title</a></h2>
// <p>excerpt</p></li>`, 20 at a time (`#search-more` shows the next 20); `#search-status`
// says how many were found.
//
// The expected pages are computed here from the release's HTML files, independently of
// Pagefind: a page's searchable text is its `<main>` (what `data-pagefind-body` marks) with
// the tags stripped, less the hidden filter elements and what Pagefind never indexes
// (script, style, svg, nav, form, label, noscript, template, iframe, footer); its filters
// are those `data-pagefind-filter` elements. Every page whose text contains the query must be found;
// every page found must contain each of the query's terms (Pagefind ANDs the terms).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import webdriver from 'selenium-webdriver';
import {
    LANGS,
    RELEASE,
    axe,
    consoleErrors,
    drainLog,
    enterprises,
    formatViolations,
    newDriver,
    open,
    releaseFiles,
    screenshot,
    setViewport,
} from '../lib/site.mjs';

const { By, Key } = webdriver;

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };
const decode = (s) =>
    s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e) => {
        if (e[0] === '#') return String.fromCodePoint(e[1].toLowerCase() === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
        return ENTITIES[e.toLowerCase()] ?? m;
    });

const FILTER = /<span hidden data-pagefind-ignore data-pagefind-filter="([a-z]+)">([^<]*)<\/span>/g;

/// Every indexed page of a language (all but the search page and 404): its URL path, the text
/// of its <main> and its filters.
function corpus(lang) {
    return releaseFiles('.html')
        .filter((p) => p.startsWith(`/${lang}/`) && !p.startsWith(`/${lang}/search/`) && !p.endsWith('/404.html'))
        .map((p) => {
            const html = fs.readFileSync(path.join(RELEASE, p), 'utf8');
            const m = html.match(/<main[^>]*>([\s\S]*)<\/main>/);
            assert.ok(m, `${p} has a <main>`);
            const filters = {};
            for (const [, name, value] of m[1].matchAll(FILTER)) (filters[name] ??= []).push(decode(value));
            const text = decode(
                m[1]
                    .replace(FILTER, ' ')
                    // What Pagefind leaves out of a page's text (its documented defaults).
                    .replace(/<(script|style|svg|nav|form|label|noscript|template|iframe|footer)\b[\s\S]*?<\/\1>/g, ' ')
                    .replace(/<[^>]+>/g, ' '),
            )
                .replace(/\s+/g, ' ')
                .trim();
            return { path: p, text, lower: text.toLowerCase(), filters };
        });
}
const CORPUS = Object.fromEntries(LANGS.map((l) => [l, corpus(l)]));

/// The pages of `lang` whose text contains every one of `terms` (case-insensitive).
const containing = (lang, terms) =>
    CORPUS[lang].filter((p) => terms.every((t) => p.lower.includes(t.toLowerCase()))).map((p) => p.path);

let driver;
before(async () => {
    driver = await newDriver();
});
after(async () => {
    await driver?.quit();
});

/// Opens the search page with a query string and returns every result (clicking "more" until
/// all are shown): [{ href, title }].
async function search(lang, params) {
    await drainLog(driver);
    const qs = new URLSearchParams(params).toString();
    await open(driver, `/${lang}/search/index.html?${qs}`);
    return allResults();
}

async function allResults() {
    await driver.wait(
        async () => {
            const s = await driver.findElement(By.id('search-status')).getText();
            const loading = await driver.executeScript(
                "return document.getElementById('search-status').getAttribute('data-loading')",
            );
            return s.trim().length > 0 && s !== loading;
        },
        30000,
        'the search page reports its results',
    );
    for (;;) {
        const more = await driver.findElement(By.id('search-more'));
        if (!(await more.isDisplayed())) break;
        const n = await driver.executeScript("return document.querySelectorAll('#search-results > li').length");
        await more.click();
        await driver.wait(
            async () => (await driver.executeScript("return document.querySelectorAll('#search-results > li').length")) > n,
            15000,
        );
    }
    const links = await driver.executeScript(
        "return [...document.querySelectorAll('#search-results > li')].map((li) => ({ href: li.querySelector('h2 > a').getAttribute('href'), title: li.querySelector('h2').textContent, excerpt: li.querySelector('p').textContent }))",
    );
    const errors = await consoleErrors(driver);
    assert.deepEqual(errors, [], errors.join('\n'));
    return links;
}

/// `found` holds every page of `expected`, and each page found holds every term.
function assertFound(lang, found, expected, terms) {
    const hrefs = new Set(found.map((f) => f.href));
    assert.equal(hrefs.size, found.length, 'no page is listed twice');
    const missing = expected.filter((p) => !hrefs.has(p));
    assert.deepEqual(missing, [], `pages that contain ${JSON.stringify(terms)} and were not found`);
    const byPath = new Map(CORPUS[lang].map((p) => [p.path, p]));
    for (const f of found) {
        const page = byPath.get(f.href);
        assert.ok(page, `${f.href} is an indexed page of /${lang}/`);
        for (const t of terms) {
            for (const piece of t.toLowerCase().split(/[^\p{L}\p{N}_]+/u).filter(Boolean)) {
                assert.ok(page.lower.includes(piece), `${f.href} was found for ${JSON.stringify(terms)} but has no ${JSON.stringify(piece)}`);
            }
        }
    }
}

const unit = enterprises().find((u) => u.district === '110105' && !/[<>"]/.test(u.name_zh + u.name_en));

for (const lang of LANGS) {
    test(`search: /${lang}/search/ has the form of the contract, 0 axe violations, screenshots at 375 and 1280 px`, async () => {
        await drainLog(driver);
        await open(driver, `/${lang}/search/index.html?q=${encodeURIComponent(lang === 'zh' ? '氨氮' : 'ammonia')}`);
        await allResults();
        const input = await driver.findElement(By.css('form#search-form input#search-q[name="q"]'));
        assert.ok(await input.isDisplayed(), 'the search field is visible');
        for (const id of ['search-district', 'search-type', 'search-section', 'search-lang']) {
            const select = await driver.findElement(By.id(id));
            assert.ok(await select.isDisplayed(), `${id} is shown once the index is loaded`);
            const label = await driver.findElement(By.css(`label[for="${id}"]`));
            assert.ok((await label.getText()).trim().length > 0, `${id} has a label`);
        }
        const districts = await driver.executeScript(
            "return [...document.querySelectorAll('#search-district option')].map((o) => o.value).filter(Boolean)",
        );
        const expected = [...new Set(CORPUS[lang].flatMap((p) => p.filters.district ?? []))].sort();
        assert.deepEqual([...districts].sort(), expected, 'the district filter offers every district the pages carry');
        const violations = await axe(driver);
        assert.equal(violations.length, 0, `axe-core violations:\n${formatViolations(violations)}`);
        try {
            for (const [name, width, height, mobile] of [['phone', 375, 812, true], ['desktop', 1280, 900, false]]) {
                await setViewport(driver, width, height, mobile);
                await screenshot(driver, `search-${lang}-${name}-${width}`);
                const overflow = await driver.executeScript('return document.documentElement.scrollWidth - document.documentElement.clientWidth');
                assert.ok(overflow <= 0, `${width} px: no sideways scrolling (${overflow} px)`);
            }
        } finally {
            await driver.sendAndGetDevToolsCommand('Emulation.clearDeviceMetricsOverride', {});
        }
    });
}

test('search (zh): 氨氮 finds every page that mentions it, the register of 氨氮 among the first', async () => {
    const expected = containing('zh', ['氨氮']);
    assert.ok(expected.length > 5, `the sample mentions 氨氮 on ${expected.length} pages`);
    const found = await search('zh', { q: '氨氮' });
    assertFound('zh', found, expected, ['氨', '氮']);
    // The exceedance register of ammonia nitrogen (HJ 212 code w21003) is titled with it.
    const register = '/zh/exceedances/pollutant/w21003.html';
    if (CORPUS.zh.some((p) => p.path === register)) {
        const rank = found.findIndex((f) => f.href === register);
        assert.ok(rank >= 0 && rank < 20, `${register} is on the first page of results (rank ${rank})`);
    }
});

test('search (zh): 氨氮 超标 朝阳 lands on pages of 朝阳 with ammonia-nitrogen exceedances', async () => {
    const terms = ['氨氮', '超标', '朝阳'];
    const expected = containing('zh', terms);
    assert.ok(expected.length > 0, 'some page of the sample has all three');
    const found = await search('zh', { q: terms.join(' ') });
    assertFound('zh', found, expected, terms);
    const chaoyang = found.filter(
        (f) => f.href === '/zh/exceedances/district/110105.html' || CORPUS.zh.find((p) => p.path === f.href)?.filters.district?.includes('朝阳区'),
    );
    assert.ok(chaoyang.length > 0, `an exceedance or unit page of 朝阳 is found: ${found.map((f) => f.href).join(' ')}`);
});

test('search (zh): the district filter keeps exactly the pages of that district', async () => {
    const all = await search('zh', { q: '氨氮' });
    const narrowed = await search('zh', { q: '氨氮', district: '朝阳区' });
    const byPath = new Map(CORPUS.zh.map((p) => [p.path, p]));
    const expected = all.map((f) => f.href).filter((h) => byPath.get(h).filters.district?.includes('朝阳区')).sort();
    assert.ok(expected.length > 0 && expected.length < all.length, `the filter narrows ${all.length} results to ${expected.length}`);
    assert.deepEqual(narrowed.map((f) => f.href).sort(), expected);
    assert.equal(await driver.findElement(By.id('search-district')).getAttribute('value'), '朝阳区', 'the select shows the filter');
});

test('search (en): "ammonia nitrogen" finds every English page that names it', async () => {
    const expected = containing('en', ['ammonia nitrogen']);
    assert.ok(expected.length > 5, `${expected.length} pages`);
    const found = await search('en', { q: 'ammonia nitrogen' });
    assertFound('en', found, expected, ['ammonia', 'nitrogen']);
});

const EXACT = [
    { what: 'a unified social credit code', q: unit.uscc, page: (l) => `/${l}/enterprises/${unit.uscc}.html` },
    { what: 'a discharge permit number', q: unit.permit_no, page: (l) => `/${l}/enterprises/${unit.uscc}.html` },
    { what: 'a dataset column', q: 'raw_sha256', page: null },
    { what: 'a standard', q: 'DB11/307-2013', page: null },
];

for (const lang of LANGS) {
    for (const { what, q, page } of EXACT) {
        test(`search (${lang}): ${what} (${q}) finds the pages that carry it`, async () => {
            const expected = containing(lang, [q]);
            assert.ok(expected.length > 0, `some /${lang}/ page has ${q}`);
            if (page) assert.ok(expected.includes(page(lang)), `${page(lang)} has ${q}`);
            const found = await search(lang, { q });
            assertFound(lang, found, expected, [q]);
            if (page) assert.equal(found[0].href, page(lang), `${page(lang)} comes first`);
        });
    }
}

test('search (en): an open day is found by its title', async () => {
    const day = CORPUS.en.find((p) => /^\/en\/open-days\/[^/]+\.html$/.test(p.path) && !p.path.endsWith('/index.html'));
    assert.ok(day, 'the sample has an open day page');
    const html = fs.readFileSync(path.join(RELEASE, day.path), 'utf8');
    const title = decode(html.match(/<h1[^>]*>([\s\S]*?)<\/h1>/)[1].replace(/<[^>]+>/g, '')).trim();
    const found = await search('en', { q: title });
    assert.ok(found.slice(0, 5).some((f) => f.href === day.path), `${day.path} is among the first results for ${JSON.stringify(title)}: ${found.slice(0, 5).map((f) => f.href).join(' ')}`);
});

test('search (zh): typing into the form, submitting, and the language select', async () => {
    await drainLog(driver);
    await open(driver, '/zh/search/index.html');
    const input = await driver.findElement(By.id('search-q'));
    await input.sendKeys('氨氮', Key.ENTER);
    const found = await allResults();
    assert.ok(found.length > 0);
    assert.equal(new URL(await driver.getCurrentUrl()).searchParams.get('q'), '氨氮', 'the address keeps the query');
    // The header's search box of any page leads here with its query.
    await open(driver, '/en/methodology.html');
    await driver.findElement(By.id('site-search-q')).sendKeys('nitrogen', Key.ENTER);
    await driver.wait(async () => (await driver.getCurrentUrl()).includes('/en/search/'), 10000);
    assert.ok((await allResults()).length > 0);
    // The language select opens the other language's search with the same query.
    await driver.findElement(By.css('#search-lang option[lang="zh-Hans-CN"]')).click();
    await driver.wait(async () => (await driver.getCurrentUrl()).includes('/zh/search/'), 10000);
    assert.equal(new URL(await driver.getCurrentUrl()).searchParams.get('q'), 'nitrogen');
});

test('search: without JavaScript the page says so and links the directory and the sitemap', () => {
    for (const lang of LANGS) {
        const html = fs.readFileSync(path.join(RELEASE, lang, 'search', 'index.html'), 'utf8');
        const noscript = html.match(/<noscript>([\s\S]*?)<\/noscript>/);
        assert.ok(noscript, `${lang}: a <noscript> notice`);
        assert.match(noscript[1], new RegExp(`href="/${lang}/enterprises/index.html"`));
        assert.match(noscript[1], /href="\/sitemap.xml"/);
    }
});
