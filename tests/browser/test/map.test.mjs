// Maps (issue 11): the map page in both languages and a unit page's locator. 0 axe-core
// violations and no console error; the map's points and the list beside it hold the same
// units with the same exceedance marks, and those are the published registry's units with
// coordinates and, for the marks, the units with an exceedance in force in the published
// register (both read here from the dataset files); the map images load from the site itself;
// each point is named by its entry in the list (the unit's name as published, and the mark);
// each district's heading links its directory page; the skip link moves the keyboard past the
// points to the list; no sideways scrolling at
// 375 px; screenshots at 375 and 1280 px (`map-{lang}-{phone,desktop}.png`).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { By, Key } from 'selenium-webdriver';
import {
    BASE_URL,
    LANGS,
    RELEASE,
    VIEWPORTS,
    axe,
    consoleErrors,
    drainLog,
    enterprises,
    formatViolations,
    newDriver,
    open,
    parseCsv,
    screenshot,
    scrollsSideways,
    setViewport,
} from '../lib/site.mjs';

const mapPage = (lang) => `/${lang}/map/index.html`;
// The words after the name of a unit with an exceedance, in the list (i18n `map.marked`).
const MARK = { zh: '（有超标）', en: ' (exceedance)' };

/// By hand from the published files: every unit with coordinates, and whether it has an
/// exceedance in force (a withdrawn record stays in the register and does not count).
function expected(lang) {
    const file = path.join(RELEASE, 'datasets', 'exceedances', 'exceedances.csv');
    const exceeded = new Set(
        parseCsv(fs.readFileSync(file, 'utf8'))
            .records.filter((r) => r.record_status !== 'withdrawn')
            .map((r) => r.uscc),
    );
    return new Map(
        enterprises()
            .filter((u) => u.lon !== '' && u.lat !== '')
            .map((u) => [`${BASE_URL}/${lang}/enterprises/${u.uscc}.html`, exceeded.has(u.uscc)]),
    );
}

const sorted = (m) => [...m.entries()].sort(([a], [b]) => a.localeCompare(b));

let driver;
before(async () => {
    driver = await newDriver();
});
after(async () => {
    await driver?.quit();
});

for (const lang of LANGS) {
    test(`map: ${mapPage(lang)} has no axe-core violation and no console error`, async () => {
        await open(driver, mapPage(lang));
        await drainLog(driver);
        assert.equal((await driver.findElements(By.css('h1'))).length, 1);
        const violations = await axe(driver);
        assert.equal(violations.length, 0, `axe-core on ${mapPage(lang)}:\n${formatViolations(violations)}`);
        assert.deepEqual(await consoleErrors(driver), []);
    });

    test(`map: ${lang} points and list hold the published units with the same marks`, async () => {
        await open(driver, mapPage(lang));
        const drawn = await driver.executeScript(`
            return [...document.querySelectorAll('svg#map-points a')].map((a) => [
                a.href.baseVal ? new URL(a.href.baseVal, location.href).href : a.href,
                a.firstElementChild.tagName.toLowerCase() === 'path',
                a.getAttribute('aria-labelledby'),
            ]);`);
        const points = new Map(drawn.map(([href, marked]) => [href, marked]));
        assert.equal(points.size, drawn.length, 'one point a unit');
        assert.deepEqual(sorted(points), sorted(expected(lang)), 'the map is the published data');
        assert.ok([...points.values()].some((m) => m), 'the sample has marked units');
        // The list: an entry a point, which names the point: the unit's name as published,
        // followed by the mark's words when the point is a triangle.
        const entries = await driver.executeScript(`
            return [...document.querySelectorAll('#map-list li[id]')].map((li) => [li.id, li.textContent.trimEnd()]);`);
        const listed = new Map(entries);
        assert.equal(listed.size, entries.length, 'one entry a unit');
        assert.equal(listed.size, points.size, 'the list holds as many units as the map');
        const names = new Map(enterprises().map((u) => [u.uscc, lang === 'zh' ? u.name_zh : u.name_en]));
        for (const [href, marked, id] of drawn) {
            const uscc = href.match(/\/enterprises\/([^/]+)\.html$/)[1];
            assert.equal(listed.get(id), names.get(uscc) + (marked ? MARK[lang] : ''), `${href}: named by its entry in the list`);
        }
        // Each district's heading links its directory page, which links each of its units.
        const headings = await driver.executeScript(`
            return [...document.querySelectorAll('#map-list h3 a')].map((a) => new URL(a.href).pathname);`);
        const districts = new Set(enterprises().filter((u) => u.lon !== '' && u.lat !== '').map((u) => u.district));
        assert.deepEqual(headings.map((h) => h.match(/district\/([^/]+)\.html$/)[1]).sort(), [...districts].sort());
    });

    test(`map: ${lang} images load from the site, and the skip link reaches the list`, async () => {
        await open(driver, mapPage(lang));
        const images = await driver.executeScript(`
            return [...document.querySelectorAll('main img')].map((i) => [i.src, i.naturalWidth, i.alt]);`);
        assert.equal(images.length, 2, 'the districts under the points, and the choropleth');
        for (const [src, width] of images) {
            assert.ok(src.startsWith(`${BASE_URL}/${lang}/map/`), `${src} is the site's own`);
            assert.ok(width > 0, `${src} loads`);
        }
        assert.ok(images[1][2].length > 40, 'the choropleth says its values in words');
        const skip = await driver.findElement(By.css('a.map-skip'));
        await skip.sendKeys(Key.ENTER);
        const focused = await driver.executeScript('return document.activeElement.id');
        assert.equal(focused, 'map-list');
    });
}

test('map: a unit page has a locator naming its district and coordinates', async () => {
    const u = enterprises().find((r) => r.lon !== '' && !/[<>"]/.test(r.name_en));
    for (const lang of LANGS) {
        const page = `/${lang}/enterprises/${u.uscc}.html`;
        await open(driver, page);
        await drainLog(driver);
        const title = await driver.executeScript(
            `const s = document.querySelector('figure.locator svg[role="img"]');
             return s && document.getElementById(s.getAttribute('aria-labelledby')).textContent;`,
        );
        assert.ok(title, `${page}: a locator with a text alternative`);
        const district = lang === 'zh' ? u.district_zh : u.district_en;
        assert.ok(title.includes(district), `${title} names ${district}`);
        assert.ok(title.includes(Number(u.lat).toFixed(5)) && title.includes(Number(u.lon).toFixed(5)), title);
        const violations = await axe(driver);
        assert.equal(violations.length, 0, `axe-core on ${page}:\n${formatViolations(violations)}`);
        assert.deepEqual(await consoleErrors(driver), []);
    }
});

for (const { name, width, height, mobile } of VIEWPORTS) {
    test(`map: screenshots at ${width} px, no sideways scrolling`, async () => {
        await setViewport(driver, width, height, mobile);
        for (const lang of LANGS) {
            await open(driver, mapPage(lang));
            const wide = await scrollsSideways(driver);
            assert.equal(wide, false, `${mapPage(lang)} scrolls sideways at ${width} px`);
            await screenshot(driver, `map-${lang}-${name}`);
        }
        await setViewport(driver, 1280, 900, false);
    });
}
