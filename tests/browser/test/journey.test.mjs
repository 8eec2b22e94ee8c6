// A newcomer's path (issue 11's "done means"), in one browser session, in each language: the
// map page → their district (by its name, from the published registry) in the map's
// district table → the district's list of units → a unit of it with a day over a daily limit
// → the chart of that outlet and pollutant, whose limit line is drawn and whose exceedance
// day is marked where that day falls → 氨氮 ("ammonia nitrogen") typed into the header's
// search box → the pages that mention it → the cems-daily query page, whose first example
// runs in the browser. No console error on any page along the way.
//
// Every expected value comes from the release's published files (enterprises.csv, the
// cems-daily month files, the pages' text for search), never from the page under test.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import webdriver from 'selenium-webdriver';
import {
    LANGS,
    RELEASE,
    cemsDaily,
    consoleErrors,
    daysOverLimitLatestMonth,
    drainLog,
    enterprises,
    fetchText,
    newDriver,
    open,
    probeUnits,
    queryResultTable,
    runQuery,
    screenshot,
} from '../lib/site.mjs';
import { CORPUS, assertFound, containing, searchResults } from '../lib/search.mjs';

const { By, Key } = webdriver;

const HAS_ENGINE = fs.existsSync(path.join(RELEASE, 'assets', 'duckdb-wasm-1.28.0', 'duckdb-eh.wasm'));
const CI = process.env.CI === 'true';

const rows = cemsDaily();
const probes = new Set(probeUnits().map((u) => u.uscc));
// The first day over a daily limit with a daily mean (by date, unit, outlet, pollutant),
// of a unit whose name is plain text (the XSS probes have xss.test.mjs).
const key = (r) => [r.date, r.uscc, r.outlet, r.pollutant].join('|');
const over = rows
    .filter((r) => r.daily_compliant === 'false' && r.daily_mean !== '' && !probes.has(r.uscc))
    .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))[0];
const unit = over && enterprises().find((u) => u.uscc === over.uscc);
// Every day of that outlet and pollutant over its limit (each has a triangle).
const overDays = over
    ? rows
          .filter(
              (r) =>
                  r.uscc === over.uscc &&
                  r.outlet === over.outlet &&
                  r.pollutant === over.pollutant &&
                  r.daily_compliant === 'false' &&
                  r.daily_mean !== '',
          )
          .map((r) => r.date)
          .sort()
    : [];
// The chart's period starts on the first day of the earliest published month.
const firstMonth = rows.map((r) => r.date.slice(0, 7)).sort()[0];
const lastDate = rows.map((r) => r.date).sort().at(-1);

const SEARCH = { zh: { q: '氨氮', terms: ['氨', '氮'] }, en: { q: 'ammonia nitrogen', terms: ['ammonia', 'nitrogen'] } };
// The exceedance register of ammonia nitrogen (HJ 212 code w21003) is titled with it.
const REGISTER = (lang) => `/${lang}/exceedances/pollutant/w21003.html`;

const dayIndex = (from, date) => Math.round((Date.parse(`${date}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86400000);

/// The horizontal centre of each triangle of the exceedance colour, and the x of the first
/// and last day's edges (the valid-hours outline runs from the first day's left edge to the
/// last day's right edge, on the same x axis as the means above it).
function chartGeometry(svg) {
    const xs = (points) => points.trim().split(/\s+/).map((p) => Number(p.split(',')[0]));
    const triangles = [...svg.matchAll(/<polygon fill="#C0392B" points="([^"]+)"/g)].map((m) => {
        const x = xs(m[1]);
        return x.reduce((a, b) => a + b, 0) / x.length;
    });
    const polygons = [...svg.matchAll(/<polygon [^>]*points="([^"]+)"/g)].map((m) => xs(m[1]));
    const outline = polygons.filter((x) => x.length > 3).at(-1);
    return { triangles, left: Math.min(...outline), right: Math.max(...outline) };
}

let driver;
before(async () => {
    driver = await newDriver();
});
after(async () => {
    await driver?.quit();
});

const pathname = async () => decodeURI(new URL(await driver.getCurrentUrl()).pathname);

async function noConsoleErrors() {
    const errors = await consoleErrors(driver);
    assert.deepEqual(errors, [], `console errors on ${await pathname()}:\n${errors.join('\n')}`);
}

/// Clicks a link, waits for the next page to be complete, and checks its console.
async function follow(link) {
    const from = await driver.getCurrentUrl();
    await link.click();
    await driver.wait(async () => (await driver.getCurrentUrl()) !== from, 10000);
    await driver.wait(async () => (await driver.executeScript('return document.readyState')) === 'complete', 10000);
    await noConsoleErrors();
}

test('journey: the sample has a unit with a day over a daily limit', () => {
    assert.ok(over, 'a cems-daily row with daily_compliant false and a daily mean');
    assert.ok(unit, `${over.uscc} is in the published registry`);
});

for (const lang of LANGS) {
    test(`journey (${lang}): map → district → unit with an exceedance → its chart → search → query`, async () => {
        const name = lang === 'zh' ? unit.name_zh : unit.name_en;
        const district = lang === 'zh' ? unit.district_zh : unit.district_en;
        await drainLog(driver);

        // The map page; the district by its name in the map's table of districts.
        await open(driver, `/${lang}/map/`);
        await noConsoleErrors();
        const links = await driver.findElements(By.css('main table a[href*="/enterprises/district/"]'));
        let districtLink = null;
        for (const a of links) {
            if ((await a.getText()).trim().startsWith(district)) districtLink = a;
        }
        assert.ok(districtLink, `the map page links ${district}`);
        await driver.executeScript('arguments[0].scrollIntoView({ block: "center" })', districtLink);
        await follow(districtLink);
        assert.match(await pathname(), new RegExp(`^/${lang}/enterprises/district/[^/]+\\.html$`));
        assert.ok((await driver.findElement(By.css('h1')).getText()).includes(district), `the page is ${district}'s`);

        // The unit, named as in the registry, among its district's units.
        const unitLink = await driver.findElement(By.css(`main a[href="/${lang}/enterprises/${unit.uscc}.html"]`));
        assert.equal((await unitLink.getText()).trim(), name);
        await driver.executeScript('arguments[0].scrollIntoView({ block: "center" })', unitLink);
        await follow(unitLink);
        assert.equal(await pathname(), `/${lang}/enterprises/${unit.uscc}.html`);
        assert.equal((await driver.findElement(By.css('h1')).getText()).trim(), name);

        // The chart of the outlet and pollutant over the limit: it loads, its summary says the
        // limit and the day, its SVG dashes the limit and has a triangle on each day over it,
        // the first at that day's place on the time axis.
        const figure = await driver.findElement(By.id(`chart-${over.outlet}-${over.pollutant}`));
        await driver.executeScript('arguments[0].scrollIntoView()', figure);
        const img = await figure.findElement(By.css('img'));
        await driver.wait(async () => driver.executeScript('return arguments[0].complete && arguments[0].naturalWidth > 0', img), 10000);
        const summary = await driver.findElement(By.id(await img.getAttribute('aria-describedby'))).getText();
        const day = lang === 'en' ? `exceeded on ${over.date} (` : `${over.date}超标（`;
        assert.ok(summary.includes(day), `the summary names ${over.date}: ${summary}`);
        assert.ok(summary.includes(` ${Number(over.daily_limit)} `), `the summary gives the limit ${over.daily_limit}: ${summary}`);
        await screenshot(driver, `journey-${lang}-chart`);
        const svg = await fetchText(await img.getAttribute('src'));
        assert.equal(svg.status, 200);
        assert.ok(svg.body.includes('stroke-dasharray="7 4"'), 'the limit line is dashed');
        const desc = svg.body.match(/<desc[^>]*>(\d{4}-\d{2}-\d{2}) – (\d{4}-\d{2}-\d{2})<\/desc>/);
        assert.ok(desc, 'the chart states its period');
        assert.equal(desc[1], `${firstMonth}-01`, 'the period starts with the earliest published month');
        assert.ok(desc[2] >= lastDate, `the period runs to the data date (${desc[2]} >= ${lastDate})`);
        const days = dayIndex(desc[1], desc[2]) + 1;
        const g = chartGeometry(svg.body);
        assert.equal(g.triangles.length, overDays.length, 'a triangle a day over the limit');
        const expectedX = g.left + ((dayIndex(desc[1], over.date) + 0.5) / days) * (g.right - g.left);
        const first = Math.min(...g.triangles);
        assert.ok(Math.abs(first - expectedX) <= 1.5, `the first triangle is at ${over.date} (x ${first}, expected ${expectedX.toFixed(1)})`);

        // The header's search box, as a newcomer types into it.
        const { q, terms } = SEARCH[lang];
        await driver.executeScript('window.scrollTo(0, 0)');
        await driver.findElement(By.id('site-search-q')).sendKeys(q, Key.ENTER);
        await driver.wait(async () => (await pathname()) === `/${lang}/search/index.html`, 10000, 'the search page opens');
        assert.equal(new URL(await driver.getCurrentUrl()).searchParams.get('q'), q);
        const found = await searchResults(driver);
        const expected = containing(lang, [q]);
        assert.ok(expected.length > 5, `the sample mentions ${q} on ${expected.length} pages`);
        assertFound(lang, found, expected, terms);
        if (CORPUS[lang].some((p) => p.path === REGISTER(lang))) {
            const rank = found.findIndex((f) => f.href === REGISTER(lang));
            assert.ok(rank >= 0 && rank < 20, `${REGISTER(lang)} is on the first page of results (rank ${rank})`);
        }
        await screenshot(driver, `journey-${lang}-search`);

        // The dataset's query page, from the dataset's page; its first example, as it comes.
        if (!HAS_ENGINE && !CI) return;
        await open(driver, `/${lang}/datasets/cems-daily.html`);
        await noConsoleErrors();
        await follow(await driver.findElement(By.css('p.query-link a')));
        assert.equal(await pathname(), `/${lang}/datasets/cems-daily/query/index.html`);
        const result = await runQuery(driver);
        assert.equal(result.error, '', `no error: ${result.error}`);
        const table = await queryResultTable(driver);
        assert.deepEqual(table.header, ['uscc', 'days_over_limit']);
        assert.deepEqual(table.rows, daysOverLimitLatestMonth(rows));
        await noConsoleErrors();
        await screenshot(driver, `journey-${lang}-query`);
    });
}
