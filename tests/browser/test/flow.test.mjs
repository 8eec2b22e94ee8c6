// A visitor's path through the site in real Chromium: the language choice, the home page,
// the language switch, the directory, an enterprise, a download of its records, the open
// days and an event's iCalendar file. No console error on any page visited. Expected values
// come from the store's published datasets and from data/open-days.toml.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import webdriver from 'selenium-webdriver';
import {
    OUTPUT,
    RELEASE,
    REPO,
    cemsDaily,
    consoleErrors,
    enterprises,
    fetchText,
    newDriver,
    open,
    parseCsv,
    probeUnits,
    screenshot,
} from '../lib/site.mjs';

const { By, until } = webdriver;

let driver;
const visited = [];

before(async () => {
    driver = await newDriver({ downloads: path.join(OUTPUT, 'downloads') });
});
after(async () => {
    await driver?.quit();
});

const pathname = async () => new URL(await driver.getCurrentUrl()).pathname;
const text = async (css) => (await driver.findElement(By.css(css)).getText()).trim();
const lang = () => driver.executeScript('return document.documentElement.lang');

/// Clicks a link, waits for the next page, and checks that page's console.
async function follow(link) {
    const before = await driver.getCurrentUrl();
    await link.click();
    await driver.wait(async () => (await driver.getCurrentUrl()) !== before, 10000);
    await driver.wait(async () => (await driver.executeScript('return document.readyState')) === 'complete', 10000);
    await noConsoleErrors();
}

async function noConsoleErrors() {
    const where = await pathname();
    visited.push(where);
    const errors = await consoleErrors(driver);
    assert.deepEqual(errors, [], `console errors on ${where}:\n${errors.join('\n')}`);
}

/// The unit with the most daily monitoring rows (the richest page), probes aside.
function richestUnit() {
    const rows = cemsDaily();
    const count = new Map();
    for (const r of rows) count.set(r.uscc, (count.get(r.uscc) || 0) + 1);
    const probes = new Set(probeUnits().map((u) => u.uscc));
    const units = enterprises().filter((u) => !probes.has(u.uscc) && count.has(u.uscc));
    units.sort((a, b) => count.get(b.uscc) - count.get(a.uscc) || a.uscc.localeCompare(b.uscc));
    assert.ok(units.length > 0, 'the sample has units with monitoring data');
    return units[0];
}

const unit = richestUnit();

test('language choice, home page and the language switch', async () => {
    await open(driver, '/');
    await noConsoleErrors();
    await follow(await driver.findElement(By.css('a[href="/zh/index.html"]')));
    assert.equal(await pathname(), '/zh/index.html');
    assert.match(await lang(), /^zh/);
    await screenshot(driver, 'flow-home-zh');

    await follow(await driver.findElement(By.css('a.lang-switch')));
    assert.equal(await pathname(), '/en/index.html', 'the switch leads to the same page in English');
    assert.equal(await lang(), 'en');
    await follow(await driver.findElement(By.css('a.lang-switch')));
    assert.equal(await pathname(), '/zh/index.html', 'and back to the same page in Chinese');
});

test('the directory leads to an enterprise, whose page switches language in place', async () => {
    await open(driver, '/en/index.html');
    await noConsoleErrors();
    await follow(await driver.findElement(By.css('nav.site-nav a[href="/en/enterprises/index.html"]')));
    assert.equal(await pathname(), '/en/enterprises/index.html');
    const link = await driver.findElement(By.css(`main a[href="/en/enterprises/${unit.uscc}.html"]`));
    assert.equal((await link.getText()).trim(), unit.name_en, 'the directory names the unit as the registry does');
    await follow(link);
    assert.equal(await pathname(), `/en/enterprises/${unit.uscc}.html`);
    assert.equal(await text('h1'), unit.name_en);
    const body = await text('main');
    assert.ok(body.includes(unit.uscc), 'the page shows the credit code');
    assert.ok(body.includes(unit.permit_no), 'the page shows the permit number');

    await follow(await driver.findElement(By.css('a.lang-switch')));
    assert.equal(await pathname(), `/zh/enterprises/${unit.uscc}.html`);
    assert.equal(await text('h1'), unit.name_zh);
    await follow(await driver.findElement(By.css('a.lang-switch')));
    assert.equal(await pathname(), `/en/enterprises/${unit.uscc}.html`);
});

// The published rows a unit download is cut from: `{id}.csv` of a dataset published whole,
// every `{id}-{YYYY-MM}.csv` of one published a file a month (under one header), or the one
// month `{id}-{YYYY-MM}` a per-month download names.
function publishedRows(name) {
    const datasets = path.join(RELEASE, 'datasets');
    const month = name.match(/^(.*)-(\d{4}-\d{2})$/);
    const id = fs.existsSync(path.join(datasets, name)) ? name : month && month[1];
    assert.ok(id && fs.existsSync(path.join(datasets, id)), `a published dataset for the download ${name}`);
    const folder = path.join(datasets, id);
    const whole = path.join(folder, `${id}.csv`);
    const files = id === name && fs.existsSync(whole)
        ? [whole]
        : fs.readdirSync(folder)
            .filter((f) => id === name ? /^.*-\d{4}-\d{2}\.csv$/.test(f) && f.startsWith(`${id}-`) : f === `${name}.csv`)
            .sort()
            .map((f) => path.join(folder, f));
    assert.ok(files.length > 0, `${name}: the published files it is cut from`);
    const parsed = files.map((f) => parseCsv(fs.readFileSync(f, 'utf8')));
    return { header: parsed[0].header, records: parsed.flatMap((p) => p.records) };
}

test("an enterprise's downloads are its own rows of the published datasets", async () => {
    await open(driver, `/en/enterprises/${unit.uscc}.html`);
    await noConsoleErrors();
    const links = await driver.findElements(By.css('a.download[href$=".csv"]'));
    assert.ok(links.length > 0, 'the enterprise page offers CSV downloads');
    let rows = 0;
    for (const a of links) {
        const href = await a.getAttribute('href');
        const m = new URL(href).pathname.match(/^\/downloads\/enterprises\/([0-9A-Z]{18})\/([a-z0-9-]+)\.csv$/);
        assert.ok(m, `a unit download path: ${href}`);
        assert.equal(m[1], unit.uscc);
        const r = await fetchText(href);
        assert.equal(r.status, 200, `${href} resolves`);
        assert.match(r.type, /^text\/csv/, `${href} is served as CSV`);
        const got = parseCsv(r.body);
        const full = publishedRows(m[2]);
        assert.deepEqual(got.header, full.header, `${m[2]}: the same columns as the dataset`);
        const key = (rec) => JSON.stringify(got.header.map((h) => rec[h]));
        const expected = full.records.filter((rec) => rec.uscc === unit.uscc).map(key).sort();
        assert.deepEqual(got.records.map(key).sort(), expected, `${m[2]}: exactly the unit's rows`);
        rows += got.records.length;
    }
    assert.ok(rows > 0, 'the downloads carry rows');

    // Following a link in the browser saves the same bytes the server sends.
    const first = links[0];
    const href = await first.getAttribute('href');
    const name = path.basename(new URL(href).pathname);
    const saved = path.join(OUTPUT, 'downloads', name);
    fs.rmSync(saved, { force: true });
    await first.click();
    await driver.wait(() => fs.existsSync(saved) && fs.statSync(saved).size > 0, 10000, `the browser saved ${name}`);
    const served = await fetchText(href);
    await driver.wait(() => fs.readFileSync(saved).equals(served.bytes), 5000, 'the saved file has the served bytes');
    await noConsoleErrors();
});

test('the open days list leads to an event and its iCalendar file', async () => {
    const days = parseToml(fs.readFileSync(path.join(REPO, 'data/open-days.toml'), 'utf8')).open_day;
    await open(driver, '/zh/index.html');
    await noConsoleErrors();
    await follow(await driver.findElement(By.css('nav.site-nav a[href="/zh/open-days/index.html"]')));
    assert.equal(await pathname(), '/zh/open-days/index.html');
    const events = await driver.findElements(By.css('main a[href^="/zh/open-days/"][href$=".html"]'));
    const hrefs = [];
    for (const e of events) hrefs.push(new URL(await e.getAttribute('href')).pathname);
    const ids = new Set(hrefs.map((h) => h.replace(/^\/zh\/open-days\/(.*)\.html$/, '$1')));
    for (const d of days) assert.ok(ids.has(d.id), `the list links the open day ${d.id}`);

    const day = days[days.length - 1];
    await follow(await driver.findElement(By.css(`main a[href="/zh/open-days/${day.id}.html"]`)));
    assert.equal(await text('h1'), day.title.zh);
    const when = await driver.findElement(By.css('main time')).getAttribute('datetime');
    assert.equal(new Date(when).getTime(), new Date(String(day.start)).getTime(), 'the page gives the start time');
    await screenshot(driver, 'flow-open-day-zh');

    const ics = await driver.findElement(By.css(`a[href="/open-days/${day.id}.ics"]`));
    const r = await fetchText(await ics.getAttribute('href'));
    assert.equal(r.status, 200);
    assert.match(r.type, /^text\/calendar/);
    checkCalendar(r.body, [day]);

    const feed = await driver.findElement(By.css('a[href="/open-days/open-days.ics"]'));
    const all = await fetchText(await feed.getAttribute('href'));
    assert.equal(all.status, 200);
    checkCalendar(all.body, days);
});

test('every page of the flow was checked for console errors', () => {
    for (const p of [
        '/',
        '/zh/index.html',
        '/en/index.html',
        '/en/enterprises/index.html',
        `/en/enterprises/${unit.uscc}.html`,
        `/zh/enterprises/${unit.uscc}.html`,
        '/zh/open-days/index.html',
    ]) {
        assert.ok(visited.includes(p), `${p} was visited and checked (visited: ${visited.join(' ')})`);
    }
    assert.ok(visited.some((p) => /^\/zh\/open-days\/.+\.html$/.test(p) && !p.endsWith('index.html')), 'an event page');
});

/// RFC 5545: CRLF lines of at most 75 octets, folded with a leading space; a VCALENDAR with
/// VERSION and PRODID; one VEVENT per open day with UID, DTSTAMP, and DTSTART/DTEND in UTC
/// equal to the data's times; SUMMARY with both titles.
function checkCalendar(body, days) {
    assert.ok(body.endsWith('\r\n'), 'ends with CRLF');
    const physical = body.slice(0, -2).split('\r\n');
    for (const l of physical) {
        assert.ok(!l.includes('\n') && !l.includes('\r'), 'no bare LF or CR');
        assert.ok(Buffer.byteLength(l, 'utf8') <= 75, `line longer than 75 octets: ${l}`);
    }
    const lines = [];
    for (const l of physical) {
        if (l.startsWith(' ') || l.startsWith('\t')) lines[lines.length - 1] += l.slice(1);
        else lines.push(l);
    }
    assert.equal(lines[0], 'BEGIN:VCALENDAR');
    assert.equal(lines[lines.length - 1], 'END:VCALENDAR');
    assert.ok(lines.includes('VERSION:2.0'));
    assert.ok(lines.some((l) => l.startsWith('PRODID:')));
    const events = [];
    let cur = null;
    for (const l of lines) {
        if (l === 'BEGIN:VEVENT') cur = {};
        else if (l === 'END:VEVENT') {
            events.push(cur);
            cur = null;
        } else if (cur) {
            const i = l.indexOf(':');
            const name = l.slice(0, i).split(';')[0];
            cur[name] = l.slice(i + 1);
        }
    }
    assert.equal(events.length, days.length, 'one event per open day');
    const utc = (d) => new Date(String(d)).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const unescape = (s) => s.replace(/\\([,;\\])/g, '$1').replace(/\\n/gi, '\n');
    for (const d of days) {
        const e = events.find((ev) => ev.UID && ev.UID.startsWith(d.id));
        assert.ok(e, `an event with the UID of ${d.id}`);
        assert.ok(e.DTSTAMP, `${d.id}: DTSTAMP`);
        assert.equal(e.DTSTART, utc(d.start), `${d.id}: DTSTART`);
        assert.equal(e.DTEND, utc(d.end), `${d.id}: DTEND`);
        const summary = unescape(e.SUMMARY);
        assert.ok(summary.includes(d.title.zh) && summary.includes(d.title.en), `${d.id}: SUMMARY ${summary}`);
    }
}
