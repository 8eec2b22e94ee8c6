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
// The expected pages are computed from the release's HTML files, independently of Pagefind
// (lib/search.mjs says how).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import webdriver from 'selenium-webdriver';
import {
    LANGS,
    RELEASE,
    axe,
    drainLog,
    enterprises,
    formatViolations,
    newDriver,
    open,
    screenshot,
    setViewport,
} from '../lib/site.mjs';
import { CORPUS, assertFound, containing, decode, searchResults } from '../lib/search.mjs';

const { By, Key } = webdriver;

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

const allResults = () => searchResults(driver);

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

test('search (en): what the site leaves out of the index (a note repeated on every unit page) finds no unit page', async () => {
    // The downloads note of every unit page, marked data-pagefind-ignore in enterprise.html.
    const q = 'spreadsheet';
    const uscc = enterprises()[0].uscc;
    const html = fs.readFileSync(path.join(RELEASE, `/en/enterprises/${uscc}.html`), 'utf8');
    assert.ok(html.includes(`that ${q} programs open directly`), `the unit page ${uscc} carries the note`);
    const expected = containing('en', [q]);
    assert.ok(!expected.some((p) => p.startsWith('/en/enterprises/') && p.split('/').length === 4), 'no unit page has it in its indexed text');
    const found = await search('en', { q });
    assertFound('en', found, expected, [q]);
    assert.deepEqual(found.map((f) => f.href).sort(), [...expected].sort());
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
