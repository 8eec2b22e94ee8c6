// Comparisons (issue 11): an industry's ranking page, the districts' index and a district
// page in both languages: 0 axe-core violations, no console error, no sideways scrolling at
// 375 px, screenshots at 375 and 1280 px; the industry's compliance CSV (served beside the
// page) holds the rows the page's table shows, and its numbers are the published
// emission-totals rows summed by unit (read here from the dataset file).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { By } from 'selenium-webdriver';
import {
    LANGS,
    RELEASE,
    VIEWPORTS,
    axe,
    consoleErrors,
    drainLog,
    fetchText,
    formatViolations,
    newDriver,
    open,
    parseCsv,
    releaseFiles,
    screenshot,
    scrollsSideways,
    setViewport,
} from '../lib/site.mjs';

const size = (p) => fs.statSync(path.join(RELEASE, p)).size;
/// The largest page of a kind in a language (the most rows to check).
const largest = (re) =>
    releaseFiles('.html')
        .filter((p) => re.test(p))
        .sort((a, b) => size(b) - size(a) || a.localeCompare(b))[0];

const industryPage = largest(/^\/en\/sectors\/industry\/[^/]+\/index\.html$/);
const districtPage = largest(/^\/en\/districts\/[^/]+\/index\.html$/);
const code = industryPage?.split('/')[4];
const pages = (p) => LANGS.map((lang) => p.replace(/^\/en\//, `/${lang}/`));
const checked = [
    ...pages(industryPage),
    ...pages(districtPage),
    ...pages('/en/districts/index.html'),
    ...pages('/en/sectors/index.html'),
];

let driver;
before(async () => {
    driver = await newDriver();
});
after(async () => {
    await driver?.quit();
});

test('district: the release has industry and district pages', () => {
    assert.ok(industryPage, 'an industry page');
    assert.ok(districtPage, 'a district page');
});

for (const page of checked) {
    test(`district: ${page} has no axe-core violation and no console error`, async () => {
        await open(driver, page);
        await drainLog(driver);
        assert.equal(await driver.findElements(By.css('h1')).then((h) => h.length), 1);
        const violations = await axe(driver);
        assert.equal(violations.length, 0, `axe-core on ${page}:\n${formatViolations(violations)}`);
        assert.deepEqual(await consoleErrors(driver), []);
    });
}

for (const { name, width, height, mobile } of VIEWPORTS) {
    test(`district: screenshots at ${width} px, no sideways scrolling`, async () => {
        await setViewport(driver, width, height, mobile);
        for (const page of checked) {
            await open(driver, page);
            const wide = await scrollsSideways(driver);
            assert.equal(wide, false, `${page} scrolls sideways at ${width} px`);
            const slug = page.replace(/^\//, '').replace(/\/index\.html$/, '').replace(/[/.]/g, '-');
            await screenshot(driver, `${name}-comparisons-${slug}`);
        }
        await setViewport(driver, 1280, 900, false);
    });
}

/// The unit's sums of its year rows of emission-totals (the method the page states).
function sums() {
    const file = path.join(RELEASE, 'datasets', 'emission-totals', 'emission-totals.csv');
    const rows = parseCsv(fs.readFileSync(file, 'utf8')).records;
    const year = rows.filter((r) => r.period_type === 'year').map((r) => r.period).sort().pop();
    const out = new Map();
    for (const r of rows.filter((r) => r.period_type === 'year' && r.period === year && r.industry_code === code)) {
        const s = out.get(r.uscc) || { hours_checked: 0, hourly_exceedances: 0, days_checked: 0, daily_exceedances: 0 };
        for (const k of Object.keys(s)) s[k] += Number(r[k]);
        out.set(r.uscc, s);
    }
    return out;
}

test('district: the compliance CSV is the page table and the published rows summed', async () => {
    await open(driver, industryPage);
    const link = await driver.findElement(By.css('#ranking-compliance-heading ~ p.source-link a[href$="compliance.csv"]'));
    const r = await fetchText(await link.getAttribute('href'));
    assert.equal(r.status, 200);
    assert.match(r.type, /^text\/csv/);
    const csv = parseCsv(r.body).records;
    const rows = await driver.findElements(By.css('#ranking-compliance tbody tr'));
    assert.equal(rows.length, csv.length, 'one CSV row a unit listed');
    const expected = sums();
    for (const [i, tr] of rows.entries()) {
        const row = csv[i];
        const href = await tr.findElement(By.css('th a')).getAttribute('href');
        assert.ok(href.endsWith(`/enterprises/${row.uscc}.html`), `row ${i + 1}: ${href} is ${row.uscc}`);
        const cells = await tr.findElements(By.css('td'));
        const text = await Promise.all(cells.map((c) => c.getText()));
        assert.equal(text[0], row.rank === '' ? '—' : row.rank, `rank of ${row.uscc}`);
        const s = expected.get(row.uscc);
        if (row.rank === '') {
            assert.ok(!s || s.hours_checked + s.days_checked === 0, `${row.uscc} has checks but no rank`);
            assert.equal(text[text.length - 1], 'No data');
            continue;
        }
        for (const [k, j] of [['hours_checked', 2], ['hourly_exceedances', 3], ['days_checked', 4], ['daily_exceedances', 5]]) {
            assert.equal(Number(row[k]), s[k], `${row.uscc} ${k}: CSV against emission-totals`);
            assert.equal(text[j].replace(/,/g, ''), row[k], `${row.uscc} ${k}: page against CSV`);
        }
        const checks = s.hours_checked + s.days_checked;
        const rate = (checks - s.hourly_exceedances - s.daily_exceedances) / checks;
        // Rounded to 6 decimals (a tie may round either way in another language).
        assert.ok(Math.abs(Number(row.compliance_rate) - rate) <= 5e-7 + 1e-12, `${row.uscc} rate ${row.compliance_rate} against ${rate}`);
        assert.match(row.compliance_rate, /^[01]\.\d{6}$/);
    }
});
