// The sample registry carries two units whose names are XSS probes
// (`<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`). Every page that shows them
// must render the names as text: no dialog opens, no element is injected, and a canary that
// any dialog call or injected handler would set is never set.

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
    fetchText,
    formatViolations,
    newDriver,
    open,
    probeUnits,
    releaseFiles,
} from '../lib/site.mjs';

const { By, error } = webdriver;

const probes = probeUnits();

// The pages that show a probe unit: every HTML file of the release that names one of their
// credit codes (their own pages, the directory and its filtered lists, registers, search...).
const pages = releaseFiles('.html').filter((p) => {
    const html = fs.readFileSync(path.join(RELEASE, p), 'utf8');
    return probes.some((u) => html.includes(u.uscc));
});

// Before any script of the page runs: record every dialog call and give the payload's
// `alert(1)` something to trip. `__xss` is never set by the site itself.
const CANARY = `
  window.__xss = undefined;
  for (const name of ['alert', 'confirm', 'prompt']) {
    const original = window[name].bind(window);
    window[name] = function (...args) {
      window.__xss = (window.__xss || []).concat([name + '(' + args.join(',') + ')']);
      return original(...args);
    };
  }
`;

let driver;
before(async () => {
    driver = await newDriver();
    await driver.sendAndGetDevToolsCommand('Page.enable', {});
    await driver.sendAndGetDevToolsCommand('Page.addScriptToEvaluateOnNewDocument', { source: CANARY });
});
after(async () => {
    await driver?.quit();
});

test('the sample data carries both probes', () => {
    const names = probes.flatMap((u) => [u.name_zh, u.name_en]);
    assert.ok(names.includes('<script>alert(1)</script>'), 'the <script> probe');
    assert.ok(names.includes('"><img src=x onerror=alert(1)>'), 'the attribute-breaking <img> probe');
});

test('the probe units appear on their pages, the directory and its lists in both languages', () => {
    for (const lang of LANGS) {
        assert.ok(pages.includes(`/${lang}/enterprises/index.html`), `${lang} directory`);
        for (const u of probes) {
            assert.ok(pages.includes(`/${lang}/enterprises/${u.uscc}.html`), `${lang} page of ${u.uscc}`);
            assert.ok(pages.includes(`/${lang}/enterprises/district/${u.district}.html`), `${lang} district list`);
            assert.ok(pages.includes(`/${lang}/enterprises/type/${u.source_type}.html`), `${lang} type list`);
        }
    }
});

test('the canary works: a dialog call on a page is seen', async () => {
    // Proves the check below can fail: the same hooks catch a real alert().
    await open(driver, '/en/index.html');
    await driver.executeScript('setTimeout(() => alert("canary"), 0)');
    await driver.wait(async () => {
        try {
            await driver.switchTo().alert();
            return true;
        } catch (e) {
            if (e instanceof error.NoSuchAlertError) return false;
            throw e;
        }
    }, 5000);
    const alert = await driver.switchTo().alert();
    assert.equal(await alert.getText(), 'canary');
    await alert.dismiss();
    assert.deepEqual(await driver.executeScript('return window.__xss'), ['alert(canary)']);
    await consoleErrors(driver);
});

/// Opens a page with the canary armed and fails if a dialog opened or anything was injected.
async function checkNothingRan(p) {
    try {
        await open(driver, p);
        // Give onerror handlers, timers and the page's own scripts a moment to run.
        await driver.sleep(300);
    } catch (e) {
        // A dialog that opens while the page loads interrupts the wait: it is checked below.
        if (!(e instanceof error.UnexpectedAlertOpenError)) throw e;
    }
    return inspect(p);
}

/// Fails if a dialog is open or the page holds injected elements or a set canary.
async function inspect(p) {
    let dialog = null;
    try {
        dialog = await driver.switchTo().alert();
    } catch (e) {
        if (!(e instanceof error.NoSuchAlertError)) throw e;
    }
    if (dialog) {
        const message = await dialog.getText();
        await dialog.dismiss();
        assert.fail(`a dialog opened on ${p}: ${message}`);
    }
    const state = await driver.executeScript(`return {
        canary: window.__xss === undefined ? null : window.__xss,
        injectedImages: document.querySelectorAll('img[src="x"]').length,
        handlers: [...document.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => /^on/i.test(a.name))).map((el) => el.outerHTML.slice(0, 120)),
        alertScripts: [...document.scripts].filter((s) => s.textContent.includes('alert(1)')).length,
        text: document.body.textContent,
    }`);
    assert.equal(state.canary, null, `a dialog call ran on ${p}: ${JSON.stringify(state.canary)}`);
    assert.equal(state.injectedImages, 0, `an <img src="x"> was injected on ${p}`);
    assert.deepEqual(state.handlers, [], `elements with inline event handlers on ${p}`);
    assert.equal(state.alertScripts, 0, `a <script> with the payload exists on ${p}`);
    return state;
}

for (const p of pages) {
    test(`${p}: the probe names render as text and nothing executes`, async () => {
        await drainLog(driver); // what an earlier, failed test left
        const raw = await fetchText(p);
        assert.equal(raw.status, 200);
        for (const payload of ['<script>alert(1)</script>', '<img src=x onerror=alert(1)>']) {
            assert.ok(!raw.body.includes(payload), `the served HTML contains the payload ${payload} unescaped`);
        }

        const state = await checkNothingRan(p);
        // The names are shown, as the literal text of the registry.
        const lang = p.split('/')[1];
        const shown = probes.filter((u) => raw.body.includes(u.uscc));
        for (const u of shown) {
            const name = lang === 'zh' ? u.name_zh : u.name_en;
            assert.ok(state.text.includes(name), `${p} shows ${JSON.stringify(name)} as text`);
        }
        const u = probes.find((x) => p === `/${lang}/enterprises/${x.uscc}.html`);
        if (u) {
            const h1 = (await driver.findElement(By.css('h1')).getText()).trim();
            assert.equal(h1, lang === 'zh' ? u.name_zh : u.name_en, 'the heading is the name, verbatim');
            const title = await driver.getTitle();
            assert.ok(title.startsWith(lang === 'zh' ? u.name_zh : u.name_en), 'so is the document title');
            // The probe pages are pages like any other: accessible, and quiet in the console.
            const violations = await axe(driver);
            assert.equal(violations.length, 0, `axe-core violations on ${p}:\n${formatViolations(violations)}`);
        }
        const errors = await consoleErrors(driver);
        assert.deepEqual(errors, [], `console errors on ${p}:\n${errors.join('\n')}`);
    });
}

// The search page builds its results in the browser from the index: the probes found there
// must stay text too (this runs once the search page exists; see search.test.mjs).
for (const lang of LANGS) {
    for (const u of probes) {
        test(`/${lang}/search/?q=${u.uscc}: a probe found by search renders as text`, async () => {
            await drainLog(driver);
            const p = `/${lang}/search/?q=${u.uscc}`;
            const state = await checkNothingRan(p);
            const name = lang === 'zh' ? u.name_zh : u.name_en;
            await driver.wait(
                async () => (await driver.executeScript("return document.querySelectorAll('#search-results li').length")) > 0,
                10000,
                `the search for ${u.uscc} lists the unit`,
            );
            const shown = await driver.executeScript(
                "return [...document.querySelectorAll('#search-results li a')].map((a) => a.textContent)",
            );
            assert.ok(shown.includes(name), `the result is named ${JSON.stringify(name)}, as text: ${JSON.stringify(shown)}`);
            await driver.sleep(300);
            await inspect(p); // again, now that the results are in the page
            assert.equal(state.canary, null);
            const errors = await consoleErrors(driver);
            assert.deepEqual(errors, [], `console errors on ${p}:\n${errors.join('\n')}`);
        });
    }
}
