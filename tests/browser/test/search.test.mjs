// SEARCH PAGE TESTS: the static search of key polluting units, in real Chromium.
//
// The contract (issue 3; the site generator's search page): `/{lang}/search/` has a form with
// `<input id="search-q" name="q">`; with JavaScript it reads `?q=` and fills
// `<ol id="search-results">` with `<li><a href="/{lang}/enterprises/{uscc}…">…</a></li>`,
// matching units by name (Chinese or English, substring), credit code or permit number.
// These tests run against whatever the release holds: if the page is missing they fail, by
// design, until it lands.
//
// The queries and their expected results come from the store's published enterprises.csv:
// a fragment of a Chinese name and of an English name that only one unit has, a full credit
// code and a permit number. The expected set is every unit whose names, code or permit
// contain the query (compared after NFKC normalisation, lower-casing and removal of white
// space, as the search page documents).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import webdriver from 'selenium-webdriver';
import {
    LANGS,
    axe,
    consoleErrors,
    drainLog,
    enterprises,
    fetchText,
    formatViolations,
    newDriver,
    open,
    probeUnits,
} from '../lib/site.mjs';

const { By, Key } = webdriver;

const norm = (s) => String(s).normalize('NFKC').toLowerCase().replace(/[\s\u3000]+/g, '');
const units = enterprises();
const probes = new Set(probeUnits().map((u) => u.uscc));

/// Every unit the query should find.
function expectedFor(q) {
    const k = norm(q);
    return units
        .filter((u) => [u.name_zh, u.name_en, u.uscc, u.permit_no].some((f) => norm(f).includes(k)))
        .map((u) => u.uscc)
        .sort();
}

/// A fragment of `len` characters of some unit's name that only that unit has.
function uniqueFragment(field, len, ok = () => true) {
    for (const u of units) {
        if (probes.has(u.uscc)) continue;
        const name = u[field];
        for (let i = 0; i + len <= name.length; i++) {
            const frag = name.slice(i, i + len);
            if (!ok(frag)) continue;
            const hits = expectedFor(frag);
            if (hits.length === 1 && hits[0] === u.uscc) return { unit: u, q: frag };
        }
    }
    throw new Error(`no unit has a unique ${len}-character fragment of ${field}`);
}

// Interior fragments (not the whole name), so the match really is on a substring.
const zh = uniqueFragment('name_zh', 3, (f) => /^[\u4e00-\u9fff]+$/.test(f));
const en = uniqueFragment('name_en', 7, (f) => /^[A-Za-z]+$/.test(f));
const byCode = units.find((u) => !probes.has(u.uscc) && u.uscc !== zh.unit.uscc);
const byPermit = units.filter((u) => !probes.has(u.uscc) && u.permit_no).slice(-1)[0];

const QUERIES = [
    { what: 'a fragment of a Chinese name', q: zh.q, unit: zh.unit },
    { what: 'a fragment of an English name', q: en.q, unit: en.unit },
    { what: 'a full credit code (USCC)', q: byCode.uscc, unit: byCode },
    { what: 'a discharge permit number', q: byPermit.permit_no, unit: byPermit },
];

let driver;
before(async () => {
    driver = await newDriver();
});
after(async () => {
    await driver?.quit();
});

/// The search page's results once its script has answered (it fills #search-status).
async function results(lang) {
    await driver.wait(async () => {
        const s = await driver.findElement(By.id('search-status')).getText();
        return s.trim().length > 0;
    }, 10000, 'the search page reports its results');
    const links = await driver.executeScript(
        "return [...document.querySelectorAll('#search-results > li a')].map((a) => ({ href: a.getAttribute('href'), text: a.textContent }))",
    );
    return links.map((l) => {
        const m = l.href.match(new RegExp(`^/${lang}/enterprises/([0-9A-Z]{18})(?:\\.html|/)$`));
        assert.ok(m, `a result links an enterprise page of /${lang}/: ${l.href}`);
        return { ...l, uscc: m[1] };
    });
}

for (const lang of LANGS) {
    test(`search: /${lang}/search/ exists with the form of the contract`, async () => {
        const r = await fetchText(`/${lang}/search/`);
        assert.equal(r.status, 200, `/${lang}/search/ is published`);
        await drainLog(driver);
        await open(driver, `/${lang}/search/`);
        const input = await driver.findElement(By.css('form input#search-q[name="q"]'));
        assert.ok(await input.isDisplayed(), 'the search field is visible');
        await driver.findElement(By.css('ol#search-results'));
        const violations = await axe(driver);
        assert.equal(violations.length, 0, `axe-core violations:\n${formatViolations(violations)}`);
        const errors = await consoleErrors(driver);
        assert.deepEqual(errors, [], errors.join('\n'));
    });

    for (const { what, q, unit } of QUERIES) {
        test(`search (${lang}): ${what} finds its enterprise — ?q=${q}`, async () => {
            const expected = expectedFor(q);
            assert.ok(expected.includes(unit.uscc));
            await drainLog(driver);
            await open(driver, `/${lang}/search/?q=${encodeURIComponent(q)}`);
            assert.equal(await driver.findElement(By.id('search-q')).getAttribute('value'), q, 'the field shows the query');
            const found = await results(lang);
            assert.deepEqual(found.map((f) => f.uscc).sort(), expected, `results for ${JSON.stringify(q)}`);
            const hit = found.find((f) => f.uscc === unit.uscc);
            assert.equal(hit.text.trim(), lang === 'zh' ? unit.name_zh : unit.name_en, 'the result is named as in the registry');
            const errors = await consoleErrors(driver);
            assert.deepEqual(errors, [], errors.join('\n'));

            // The result leads to the enterprise's page.
            const before = await driver.getCurrentUrl();
            await driver.findElement(By.css(`#search-results a[href="${hit.href}"]`)).click();
            await driver.wait(async () => (await driver.getCurrentUrl()) !== before, 10000);
            assert.equal(
                (await driver.findElement(By.css('h1')).getText()).trim(),
                lang === 'zh' ? unit.name_zh : unit.name_en,
            );
            const after = await consoleErrors(driver);
            assert.deepEqual(after, [], after.join('\n'));
        });
    }

    test(`search (${lang}): typing a query into the form and submitting it`, async () => {
        const { q, unit } = lang === 'zh' ? QUERIES[0] : QUERIES[1];
        await drainLog(driver);
        await open(driver, `/${lang}/search/`);
        const input = await driver.findElement(By.id('search-q'));
        await input.sendKeys(q, Key.ENTER);
        const found = await results(lang);
        assert.deepEqual(found.map((f) => f.uscc).sort(), expectedFor(q));
        assert.ok(found.some((f) => f.uscc === unit.uscc));
        assert.equal(new URL(await driver.getCurrentUrl()).searchParams.get('q'), q, 'the address keeps the query');
        const errors = await consoleErrors(driver);
        assert.deepEqual(errors, [], errors.join('\n'));
    });
}
