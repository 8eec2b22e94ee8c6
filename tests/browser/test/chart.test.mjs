// The charts of a unit page (issue 11): on a unit with a day over its daily limit, the chart
// of that outlet and pollutant is shown (an image that loads, with a text summary), its CSV is
// exactly the published cems-daily rows it claims (read here from the dataset's month files),
// the summary names the limit and the day it was exceeded, the SVG marks every day over the
// limit with a triangle and dashes the limit line; axe-core finds nothing; screenshots at 375
// and 1280 px.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { By } from 'selenium-webdriver';
import {
    LANGS,
    VIEWPORTS,
    axe,
    cemsDaily,
    consoleErrors,
    drainLog,
    fetchText,
    formatViolations,
    newDriver,
    open,
    parseCsv,
    screenshot,
    scrollsSideways,
    setViewport,
} from '../lib/site.mjs';

/// The columns a daily chart's CSV carries, in order (`unit_series::COLUMNS`).
const COLUMNS = [
    'date',
    'uscc',
    'outlet',
    'pollutant',
    'valid_hours',
    'value_sum',
    'daily_mean',
    'daily_limit',
    'daily_compliant',
];

const rows = cemsDaily();
// The first day over a daily limit (by date, unit, outlet, pollutant).
const exceeded = rows
    .filter((r) => r.daily_compliant === 'false')
    .sort((a, b) =>
        [a.date, a.uscc, a.outlet, a.pollutant].join() < [b.date, b.uscc, b.outlet, b.pollutant].join() ? -1 : 1,
    )[0];
const claimed = exceeded
    ? rows
          .filter((r) => r.uscc === exceeded.uscc && r.outlet === exceeded.outlet && r.pollutant === exceeded.pollutant)
          .sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0))
    : [];
const figureId = exceeded ? `chart-${exceeded.outlet}-${exceeded.pollutant}` : '';

let driver;
before(async () => {
    driver = await newDriver();
});
after(async () => {
    await driver?.quit();
});

test('the sample has a day over a daily limit to chart', () => {
    assert.ok(exceeded, 'a cems-daily row with daily_compliant false');
});

for (const lang of LANGS) {
    test(`chart ${lang}: the chart of a unit's exceedance is shown with its summary`, async () => {
        const page = `/${lang}/enterprises/${exceeded.uscc}.html`;
        await open(driver, page);
        await drainLog(driver);
        const figure = await driver.findElement(By.id(figureId));
        await driver.executeScript('arguments[0].scrollIntoView()', figure);
        const img = await figure.findElement(By.css('img'));
        await driver.wait(async () => driver.executeScript('return arguments[0].complete && arguments[0].naturalWidth > 0', img), 10000);
        assert.ok(await driver.executeScript('return arguments[0].naturalWidth', img) > 0, 'the SVG loads');
        assert.ok((await img.getAttribute('alt')).length > 20, 'the image has a text alternative');
        const summaryId = await img.getAttribute('aria-describedby');
        const summary = await driver.findElement(By.id(summaryId)).getText();
        // The day over the limit and the limit in force are in the text, not only drawn.
        const day = lang === 'en' ? `exceeded on ${exceeded.date} (` : `${exceeded.date}超标（`;
        assert.ok(summary.includes(day), `summary names ${exceeded.date}: ${summary}`);
        const limitWords = lang === 'en' ? 'Daily limit in force' : '执行的日均限值';
        assert.ok(summary.includes(limitWords), `summary names the limit: ${summary}`);
        assert.ok(summary.includes(` ${Number(exceeded.daily_limit)} `), `summary gives the limit ${exceeded.daily_limit}: ${summary}`);
        assert.deepEqual(await consoleErrors(driver), []);
        const violations = await axe(driver);
        assert.equal(violations.length, 0, `axe-core on ${page}:\n${formatViolations(violations)}`);
    });
}

test("chart: the CSV is exactly the published rows it claims", async () => {
    await open(driver, `/en/enterprises/${exceeded.uscc}.html`);
    const link = await driver.findElement(By.css(`#${figureId} a[href$=".csv"]`));
    const r = await fetchText(await link.getAttribute('href'));
    assert.equal(r.status, 200);
    assert.match(r.type, /^text\/csv/);
    assert.ok(r.body.startsWith('\ufeff'), 'UTF-8 with a byte-order mark, like the datasets');
    const csv = parseCsv(r.body);
    assert.deepEqual(csv.header, COLUMNS);
    const expected = claimed.map((row) => Object.fromEntries(COLUMNS.map((c) => [c, row[c]])));
    assert.equal(csv.records.length, expected.length, 'one row a published day');
    assert.deepEqual(csv.records, expected);
});

test('chart: the SVG dashes the limit and marks each day over it', async () => {
    await open(driver, `/en/enterprises/${exceeded.uscc}.html`);
    const img = await driver.findElement(By.css(`#${figureId} img`));
    const r = await fetchText(await img.getAttribute('src'));
    assert.equal(r.status, 200);
    assert.match(r.type, /^image\/svg\+xml/);
    assert.match(r.body, /role="img"/);
    assert.ok(r.body.includes('stroke-dasharray'), 'the limit line is dashed');
    const over = claimed.filter((row) => row.daily_compliant === 'false' && row.daily_mean !== '').length;
    // A triangle a day over the limit, filled in the exceedance colour.
    assert.equal((r.body.match(/fill="#C0392B"/g) || []).length, over);
});

for (const { name, width, height, mobile } of VIEWPORTS) {
    test(`chart screenshots at ${width} px`, async () => {
        await setViewport(driver, width, height, mobile);
        for (const lang of LANGS) {
            await open(driver, `/${lang}/enterprises/${exceeded.uscc}.html#${figureId}`);
            const img = await driver.findElement(By.css(`#${figureId} img`));
            await driver.executeScript('arguments[0].scrollIntoView()', img);
            await driver.wait(async () => driver.executeScript('return arguments[0].complete && arguments[0].naturalWidth > 0', img), 10000);
            const wide = await scrollsSideways(driver);
            assert.equal(wide, false, `${lang} at ${width} px scrolls sideways`);
            await screenshot(driver, `chart-${lang}-${name}`);
        }
    });
}
