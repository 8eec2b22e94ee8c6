// QUERY PAGE TESTS: SQL in the browser (DuckDB-WASM, served with the site) over a dataset's
// published Parquet files, in real headless Chromium.
//
// The contract (issue 11; site-generator/src/pages/query.rs and assets/query.js):
// `/{lang}/datasets/{id}/query/` has a form `#query-form` with a labelled textarea
// `#query-sql` holding the first example query, a Run button `#query-run`, the result in
// `#query-result table` (a header row and one row per result row, up to the row limit),
// a status line `#query-status`, errors in `#query-error`, and `#query-csv` exporting the
// result as CSV (`{id}-query.csv`: BOM, CRLF, text cells starting with = + - @ TAB CR
// prefixed with '). The release carries the engine under /assets/duckdb-wasm-1.28.0/; a
// release without it has pages that say so, which fails here under CI=true (scripts/test
// installs the engine with scripts/duckdb-wasm-assets) and is reported as a skip otherwise.
//
// The expected results are computed here from the published CSV files of the same release
// (every cems-daily-YYYY-MM.csv), not read back from the page.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import webdriver from 'selenium-webdriver';
import {
    BASE_URL,
    OUTPUT,
    RELEASE,
    axe,
    cemsDaily,
    consoleErrors,
    daysOverLimitLatestMonth,
    drainLog,
    formatViolations,
    newDriver,
    open,
    parseCsv,
    queryResultTable as resultTable,
    runQuery as run,
    screenshot,
    setViewport,
} from '../lib/site.mjs';

const { By, until } = webdriver;

const ENGINE = path.join(RELEASE, 'assets', 'duckdb-wasm-1.28.0');
const HAS_ENGINE = fs.existsSync(path.join(ENGINE, 'duckdb-eh.wasm'));
const CI = process.env.CI === 'true';
const DOWNLOADS = path.join(OUTPUT, 'query-downloads');
const skip = !HAS_ENGINE && !CI
    ? 'the release has no query engine (run scripts/duckdb-wasm-assets, then the nightly with --query-engine)'
    : false;

/// Clicks the export button and returns the saved file's text (bytes decoded as UTF-8, BOM kept).
async function exportCsv(driver, name) {
    const file = path.join(DOWNLOADS, name);
    fs.rmSync(file, { force: true });
    await driver.findElement(By.id('query-csv')).click();
    // Chromium may create the file under its final name before it has written it (a clean
    // run once read it empty): wait until no partial download is left in the folder and the
    // file's size has stayed the same, above zero, over two polls.
    const size = () => (fs.existsSync(file) ? fs.statSync(file).size : -1);
    const partial = () => fs.readdirSync(DOWNLOADS).some((f) => f.endsWith('.crdownload'));
    const deadline = Date.now() + 20000;
    let last = -1;
    while (Date.now() < deadline) {
        const now = size();
        if (now > 0 && now === last && !partial()) break;
        last = now;
        await new Promise((r) => setTimeout(r, 150));
    }
    assert.ok(size() > 0 && !partial(), `the export was saved whole as ${name}`);
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(fs.readFileSync(file));
}

let driver;
before(async () => {
    if (skip) return;
    driver = await newDriver({ downloads: DOWNLOADS });
});
after(async () => {
    await driver?.quit();
});

test('query: the release carries the query engine (fails under CI=true when it is missing)', () => {
    if (!HAS_ENGINE && CI) {
        assert.fail(`no ${ENGINE}/duckdb-eh.wasm: scripts/test installs it with scripts/duckdb-wasm-assets`);
    }
    if (!HAS_ENGINE) {
        // Not CI: say plainly what is missing, and check the pages say the same.
        const page = fs.readFileSync(path.join(RELEASE, 'en', 'datasets', 'cems-daily', 'query', 'index.html'), 'utf8');
        assert.match(page, /not available in this build/);
        return;
    }
    for (const f of ['duckdb-browser.mjs', 'duckdb-browser-eh.worker.js', 'duckdb-eh.wasm']) {
        assert.ok(fs.statSync(path.join(ENGINE, f)).size > 0, f);
    }
});

test('query: each dataset page links its query page, in both languages', { skip }, async () => {
    for (const lang of ['zh', 'en']) {
        await open(driver, `/${lang}/datasets/cems-daily.html`);
        const href = await driver.findElement(By.css('p.query-link a')).getAttribute('href');
        assert.equal(new URL(href).pathname, `/${lang}/datasets/cems-daily/query/index.html`);
    }
});

test('query: the first example of cems-daily gives the days over the limit computed from the CSV', { skip }, async () => {
    await setViewport(driver, 1280, 900);
    await open(driver, '/en/datasets/cems-daily/query/');
    await drainLog(driver);
    const violations = await axe(driver);
    assert.equal(violations.length, 0, `axe-core before a query:\n${formatViolations(violations)}`);

    // The textarea holds the first example: days over the daily limit per unit, latest month.
    const result = await run(driver);
    assert.equal(result.error, '', `no error: ${result.error}`);

    const expected = daysOverLimitLatestMonth(cemsDaily());
    assert.ok(expected.length > 0, 'the sample has days over the daily limit');
    const table = await resultTable(driver);
    assert.deepEqual(table.header, ['uscc', 'days_over_limit']);
    assert.deepEqual(table.rows, expected);
    assert.match(result.status, new RegExp(`^${expected.length} rows, 2 columns\\.$`));

    // The export: the same rows under the header, as the site's CSVs are written.
    const text = await exportCsv(driver, 'cems-daily-query.csv');
    assert.equal(text.charCodeAt(0), 0xfeff, 'a byte-order mark');
    assert.ok(text.endsWith('\r\n') && !/[^\r]\n/.test(text), 'CRLF line ends');
    const csv = parseCsv(text);
    assert.deepEqual(csv.header, ['uscc', 'days_over_limit']);
    assert.deepEqual(csv.records.map((r) => [r.uscc, r.days_over_limit]), expected);

    // Nothing but this site was asked for anything (the page's own requests).
    const origins = await driver.executeScript(
        'return performance.getEntriesByType("resource").map((e) => new URL(e.name).origin);');
    assert.deepEqual([...new Set(origins)].filter((o) => o !== BASE_URL), []);
    assert.deepEqual(await consoleErrors(driver), []);

    const after = await axe(driver);
    assert.equal(after.length, 0, `axe-core with a result:\n${formatViolations(after)}`);
    await screenshot(driver, 'query-en-cems-daily-1280');
    await setViewport(driver, 375, 812, true);
    const overflow = await driver.executeScript(
        'return document.documentElement.scrollWidth - document.documentElement.clientWidth;');
    assert.ok(overflow <= 0, `no sideways scrolling at 375 px (${overflow} px)`);
    await screenshot(driver, 'query-en-cems-daily-375');
    await setViewport(driver, 1280, 900);
});

test('query: totals by district in Chinese match the sums of the CSV', { skip }, async () => {
    await open(driver, '/zh/datasets/cems-daily/query/');
    // The second example, put in the box by its button.
    const buttons = await driver.findElements(By.css('button.query-example'));
    assert.ok(buttons.length >= 3, 'three or more example queries');
    await buttons[1].click();
    const sql = await driver.findElement(By.id('query-sql')).getAttribute('value');
    assert.match(sql, /GROUP BY district, pollutant/);
    const result = await run(driver);
    assert.equal(result.error, '', `no error: ${result.error}`);

    const sums = new Map();
    for (const r of cemsDaily()) {
        if (r.mass_kg === '') continue;
        const k = `${r.district}|${r.pollutant}`;
        const s = sums.get(k) || { mass: 0, n: 0 };
        s.mass += Number(r.mass_kg);
        s.n += 1;
        sums.set(k, s);
    }
    const table = await resultTable(driver);
    assert.deepEqual(table.header, ['district', 'pollutant', 'mass_kg', 'outlet_days']);
    const keys = [...sums.keys()].sort();
    assert.deepEqual(table.rows.map((r) => `${r[0]}|${r[1]}`), keys);
    for (const row of table.rows) {
        const s = sums.get(`${row[0]}|${row[1]}`);
        // round(sum, 3): equal to the CSV's sum rounded to 3 decimals, give or take the last
        // digit (the order of a floating-point sum).
        assert.ok(Math.abs(Number(row[2]) - s.mass) <= 0.0011, `${row}: ${s.mass}`);
        assert.equal(row[3], String(s.n));
    }
    assert.match(result.status, /^共 /);
    await screenshot(driver, 'query-zh-cems-daily-1280');
});

test('query: the CSV export neutralises formulas, and values show as text', { skip }, async () => {
    await open(driver, '/en/datasets/exceedances/query/');
    const probe = '<img src=x onerror="window.__x=1">';
    const result = await run(driver,
        `SELECT '=1+1' AS f, '+2' AS p, -3 AS n, '@x' AS a, '\tt' AS t, 'a,"b"' AS q, '${probe.replace(/'/g, "''")}' AS h, NULL AS z`);
    assert.equal(result.error, '', `no error: ${result.error}`);
    const table = await resultTable(driver);
    assert.deepEqual(table.header, ['f', 'p', 'n', 'a', 't', 'q', 'h', 'z']);
    // On the page, the values as they are (the empty value as the page names it).
    assert.deepEqual(table.rows[0].slice(0, 7), ['=1+1', '+2', '-3', '@x', '\tt', 'a,"b"', probe]);
    assert.equal(await driver.executeScript('return document.querySelectorAll("#query-result img").length'), 0);
    assert.equal(await driver.executeScript('return window.__x === undefined'), true);
    const text = await exportCsv(driver, 'exceedances-query.csv');
    // By hand: text cells starting with = + @ TAB get a ', the number -3 does not; a cell
    // with a comma or quote is quoted, its quotes doubled; NULL is empty.
    assert.equal(text,
        '\uFEFFf,p,n,a,t,q,h,z\r\n' +
        `'=1+1,'+2,-3,'@x,'\tt,"a,""b""","<img src=x onerror=""window.__x=1"">",\r\n`);
});

test('query: an error is shown in plain words and a later query still runs', { skip }, async () => {
    await open(driver, '/en/datasets/exceedances/query/');
    const bad = await run(driver, 'SELECT no_such_column FROM exceedances');
    assert.match(bad.error, /^The query failed\. DuckDB says: .*no_such_column/s);
    assert.equal(await driver.executeScript('return document.getElementById("query-result").hidden'), true);
    const good = await run(driver, 'SELECT count(*) AS n FROM exceedances');
    assert.equal(good.error, '');
    const rows = parseCsv(fs.readFileSync(path.join(RELEASE, 'datasets', 'exceedances', 'exceedances.csv'), 'utf8')).records;
    const table = await resultTable(driver);
    assert.deepEqual(table.rows, [[String(rows.length)]]);
    // One row and one column are said in the singular.
    assert.equal(good.status, '1 row, 1 column.');
});

test('query: the status line counts rows and columns in each language', { skip }, async () => {
    const cases = [
        ['en', 'SELECT 1 AS a, 2 AS b', '1 row, 2 columns.'],
        ['en', 'SELECT i FROM range(2) t(i)', '2 rows, 1 column.'],
        ['zh', 'SELECT 1 AS a', '共 1 行、1 列。'],
        ['zh', 'SELECT i, i AS j FROM range(3) t(i)', '共 3 行、2 列。'],
    ];
    for (const [lang, sql, status] of cases) {
        await open(driver, `/${lang}/datasets/exceedances/query/`);
        const r = await run(driver, sql);
        assert.equal(r.error, '');
        assert.equal(r.status, status, `${lang}: ${sql}`);
    }
});

test('query: every example query of every dataset runs without an error', { skip }, async () => {
    const pages = fs.readdirSync(path.join(RELEASE, 'en', 'datasets'), { withFileTypes: true })
        .filter((e) => e.isDirectory() && fs.existsSync(path.join(RELEASE, 'en', 'datasets', e.name, 'query', 'index.html')))
        .map((e) => e.name)
        .sort();
    assert.ok(pages.length >= 10, `query pages: ${pages}`);
    const failures = [];
    for (const id of pages) {
        await open(driver, `/en/datasets/${id}/query/`);
        const n = (await driver.findElements(By.css('button.query-example'))).length;
        assert.ok(n >= 3 && n <= 5, `${id}: ${n} examples`);
        for (let i = 0; i < n; i++) {
            await (await driver.findElements(By.css('button.query-example')))[i].click();
            const r = await run(driver);
            if (r.error !== '') failures.push(`${id} example ${i + 1}: ${r.error}`);
        }
    }
    assert.deepEqual(failures, []);
    assert.deepEqual(await consoleErrors(driver), []);
});

test('query: the page shows the first 1,000 rows and says so; the export has them all', { skip }, async () => {
    await open(driver, '/en/datasets/enterprises/query/');
    const result = await run(driver, 'SELECT i, i * 2 AS twice FROM range(1500) t(i) ORDER BY i');
    assert.equal(result.error, '');
    assert.equal(result.status, '1,500 rows, 2 columns: the first 1,000 are shown; the CSV export has them all.');
    const table = await resultTable(driver);
    assert.equal(table.rows.length, 1000);
    assert.deepEqual(table.rows[999], ['999', '1998']);
    const csv = parseCsv(await exportCsv(driver, 'enterprises-query.csv'));
    assert.equal(csv.records.length, 1500);
    assert.deepEqual(csv.records[1499], { i: '1499', twice: '2998' });
});
