// What every browser test shares: where the site under test is, the published data it was
// built from, a WebDriver session on the Chromium that `run` started, console-log and axe
// helpers, and the page kinds of the release.
//
// The tests never start or download a browser: `run` starts chromedriver (Debian's
// /usr/bin/chromedriver) and `envgov serve`, and hands their addresses over in
// ENVGOV_WEBDRIVER_URL and ENVGOV_BASE_URL. Expected values come from the store's published
// files (ENVGOV_STORE), never from an earlier run's output.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import webdriver from 'selenium-webdriver';
import chrome from 'selenium-webdriver/chrome.js';

const { Builder, By, logging } = webdriver;

export const HERE = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const REPO = path.resolve(HERE, '..', '..');

function required(name) {
    const v = process.env[name];
    if (!v) {
        throw new Error(`${name} is not set: run the suite through tests/browser/run`);
    }
    return v;
}

export const BASE_URL = required('ENVGOV_BASE_URL').replace(/\/$/, '');
export const WEBDRIVER_URL = required('ENVGOV_WEBDRIVER_URL');
export const STORE = required('ENVGOV_STORE');
export const CHROMIUM = process.env.ENVGOV_CHROMIUM || '/usr/bin/chromium';
export const OUTPUT = process.env.ENVGOV_TEST_OUTPUT
    ? path.resolve(process.env.ENVGOV_TEST_OUTPUT)
    : path.join(REPO, 'target', 'test-output');
export const SCREENSHOTS = path.join(OUTPUT, 'screenshots');
export const RELEASE_ID = fs.readFileSync(path.join(STORE, 'site', 'current'), 'utf8').trim();
export const RELEASE = path.join(STORE, 'site', 'releases', RELEASE_ID);
export const LANGS = ['zh', 'en'];
export const OTHER = { zh: 'en', en: 'zh' };
/// The widths every page kind is checked and photographed at: a phone's (375 CSS px, mobile
/// viewport) and a desktop's.
export const VIEWPORTS = [
    { name: 'phone', width: 375, height: 812, mobile: true },
    { name: 'desktop', width: 1280, height: 900, mobile: false },
];

/// WCAG 2.0 and 2.1, levels A and AA: the bar.
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

export const url = (p) => BASE_URL + p;

// ---------------------------------------------------------------------------------------
// Published data

/// RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF), with a UTF-8 BOM allowed.
export function parseCsv(text) {
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const rows = [];
    let row = [];
    let field = '';
    let quoted = false;
    for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (quoted) {
            if (c === '"') {
                if (text[i + 1] === '"') {
                    field += '"';
                    i++;
                } else {
                    quoted = false;
                }
            } else {
                field += c;
            }
        } else if (c === '"') {
            quoted = true;
        } else if (c === ',') {
            row.push(field);
            field = '';
        } else if (c === '\n' || c === '\r') {
            if (c === '\r' && text[i + 1] === '\n') i++;
            row.push(field);
            rows.push(row);
            row = [];
            field = '';
        } else {
            field += c;
        }
    }
    if (quoted) throw new Error('CSV ends inside a quoted field');
    if (field !== '' || row.length > 0) {
        row.push(field);
        rows.push(row);
    }
    if (rows.length === 0) throw new Error('empty CSV');
    const [header, ...body] = rows;
    return {
        header,
        records: body.map((r, n) => {
            if (r.length !== header.length) {
                throw new Error(`CSV row ${n + 2} has ${r.length} fields, the header ${header.length}`);
            }
            return Object.fromEntries(header.map((h, j) => [h, r[j]]));
        }),
    };
}

/// The published registry of key polluting units (the site's source for enterprise pages).
export function enterprises() {
    const file = path.join(RELEASE, 'datasets', 'enterprises', 'enterprises.csv');
    return parseCsv(fs.readFileSync(file, 'utf8')).records;
}

/// The units whose names carry markup: the XSS probes of the sample data.
export function probeUnits() {
    return enterprises().filter((u) => /[<>"]/.test(u.name_zh) || /[<>"]/.test(u.name_en));
}

/// Every published row of cems-daily, from its month files (`cems-daily-YYYY-MM.csv`), in
/// month order.
export function cemsDaily() {
    const dir = path.join(RELEASE, 'datasets', 'cems-daily');
    const months = fs.readdirSync(dir).filter((f) => /^cems-daily-\d{4}-\d{2}\.csv$/.test(f)).sort();
    if (months.length === 0) throw new Error('cems-daily is not published a file a month');
    return months.flatMap((f) => parseCsv(fs.readFileSync(path.join(dir, f), 'utf8')).records);
}

/// The first example query of the cems-daily query page, computed from `rows` (cems-daily):
/// the days over the daily limit per unit in the latest month, most first, then by USCC, at
/// most 100, as the result table's cells ([uscc, days]).
export function daysOverLimitLatestMonth(rows) {
    const month = rows.map((r) => r.month).sort().at(-1);
    const days = new Map();
    for (const r of rows) {
        if (r.month === month && r.daily_compliant === 'false') {
            if (!days.has(r.uscc)) days.set(r.uscc, new Set());
            days.get(r.uscc).add(r.date);
        }
    }
    return [...days.entries()]
        .map(([uscc, d]) => [uscc, String(d.size)])
        .sort((a, b) => Number(b[1]) - Number(a[1]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
        .slice(0, 100);
}

// ---------------------------------------------------------------------------------------
// The release on disk

/// Every file of the release, as URL paths (`/zh/index.html`).
export function releaseFiles(ext = '.html') {
    const out = [];
    const walk = (dir) => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            const p = path.join(dir, e.name);
            if (e.isDirectory()) walk(p);
            else if (e.name.endsWith(ext)) out.push('/' + path.relative(RELEASE, p).split(path.sep).join('/'));
        }
    };
    walk(RELEASE);
    return out.sort();
}

/// The kind of a page: its path with the last segment generalised, except for index pages
/// and the top-level pages of a language (`/zh/about.html` is its own kind).
/// `/zh/enterprises/district/110105.html` -> `enterprises/district/*`.
export function pageKind(p) {
    const parts = p.split('/').filter(Boolean);
    const inLang = LANGS.includes(parts[0]);
    const rest = inLang ? parts.slice(1) : parts;
    const last = rest[rest.length - 1];
    if (last === 'index.html' || rest.length === 1) {
        return rest.join('/').replace(/\.html$/, '');
    }
    return [...rest.slice(0, -1), '*'].join('/');
}

/// One representative page per kind and language (the largest file of the kind, which has the
/// most tables and charts to check); kinds listed in `all` keep every member.
export function pagesByKind({ all = [] } = {}) {
    const kinds = new Map();
    for (const p of releaseFiles('.html')) {
        const lang = p.split('/')[1];
        const key = (LANGS.includes(lang) ? lang : '-') + ' ' + pageKind(p);
        if (!kinds.has(key)) kinds.set(key, []);
        kinds.get(key).push(p);
    }
    const out = [];
    for (const [key, members] of [...kinds.entries()].sort()) {
        const [lang, kind] = key.split(' ');
        if (all.includes(kind)) {
            for (const m of members) out.push({ lang, kind, path: m });
        } else {
            const size = (m) => fs.statSync(path.join(RELEASE, m)).size;
            const best = [...members].sort((a, b) => size(b) - size(a) || a.localeCompare(b))[0];
            out.push({ lang, kind, path: best });
        }
    }
    return out;
}

/// The same page in the other language (URLs are symmetric: only the prefix differs).
export function twinPath(p) {
    const m = p.match(/^\/(zh|en)(\/.*)$/);
    if (!m) throw new Error(`${p} is not a page of a language`);
    return `/${OTHER[m[1]]}${m[2]}`;
}

// ---------------------------------------------------------------------------------------
// The browser

/// The flags the machine needs (see /work/.library/env/machines/rust.md): Chromium runs as
/// root, without a GPU, and must not open connections to Google's hosts on this closed
/// network. A fresh profile for every session.
export async function newDriver({ width = 1280, height = 900, downloads = null } = {}) {
    const profile = fs.mkdtempSync(path.join(OUTPUT, 'chromium-profile-'));
    const options = new chrome.Options();
    options.setChromeBinaryPath(CHROMIUM);
    options.addArguments(
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-quic',
        '--no-first-run',
        '--disable-component-update',
        '--disable-sync',
        '--disable-dev-shm-usage',
        `--user-data-dir=${profile}`,
        `--window-size=${width},${height}`,
        '--hide-scrollbars',
        '--force-device-scale-factor=1',
    );
    const prefs = new logging.Preferences();
    prefs.setLevel(logging.Type.BROWSER, logging.Level.ALL);
    options.setLoggingPrefs(prefs);
        // Dialogs stay open until a test looks for them: an alert() from injected markup must be
    // seen, not dismissed behind the test's back.
    options.set('unhandledPromptBehavior', 'ignore');
    if (downloads) {
        fs.mkdirSync(downloads, { recursive: true });
        options.setUserPreferences({
            'download.default_directory': downloads,
            'download.prompt_for_download': false,
        });
    }
    const driver = await new Builder()
        .usingServer(WEBDRIVER_URL)
        .forBrowser('chrome')
        .setChromeOptions(options)
        .build();
    await driver.manage().setTimeouts({ pageLoad: 30000, script: 30000 });
    await setViewport(driver, width, height);
    if (downloads) {
        await driver.sendAndGetDevToolsCommand('Browser.setDownloadBehavior', {
            behavior: 'allow',
            downloadPath: downloads,
        });
    }
    const quit = driver.quit.bind(driver);
    driver.quit = async () => {
        try {
            await quit();
        } finally {
            fs.rmSync(profile, { recursive: true, force: true });
        }
    };
    return driver;
}

/// Sets the layout viewport exactly (the window size of headless Chromium is not the viewport).
/// Whether the page is wider than the viewport (scrolls sideways), give or take a pixel.
export async function scrollsSideways(driver) {
    return driver.executeScript(
        'return document.documentElement.scrollWidth > document.documentElement.clientWidth + 1',
    );
}

export async function setViewport(driver, width, height, mobile = false) {
    await driver.sendAndGetDevToolsCommand('Emulation.setDeviceMetricsOverride', {
        width,
        height,
        deviceScaleFactor: 1,
        mobile,
    });
}

/// Every browser log entry since the last call, as text.
export async function drainLog(driver) {
    const entries = await driver.manage().logs().get(logging.Type.BROWSER);
    return entries.map((e) => ({ level: e.level.name, message: e.message }));
}

/// The SEVERE entries (console errors, failed loads, uncaught exceptions) since the last call.
export async function consoleErrors(driver) {
    return (await drainLog(driver)).filter((e) => e.level === 'SEVERE').map((e) => e.message);
}

/// Navigates and waits for the document to be complete.
export async function open(driver, p) {
    await driver.get(p.startsWith('http') ? p : url(p));
    await driver.wait(
        async () => (await driver.executeScript('return document.readyState')) === 'complete',
        15000,
    );
}

const AXE_SOURCE = fs.readFileSync(path.join(HERE, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/// axe-core's violations of WCAG 2.1 A and AA on the current page.
export async function axe(driver) {
    await driver.executeScript(AXE_SOURCE);
    const result = await driver.executeAsyncScript(
        `const done = arguments[arguments.length - 1];
         axe.run(document, { runOnly: { type: 'tag', values: arguments[0] }, resultTypes: ['violations'] })
            .then((r) => done({ violations: r.violations, version: axe.version }))
            .catch((e) => done({ error: String(e && e.stack || e) }));`,
        AXE_TAGS,
    );
    if (result.error) throw new Error(`axe-core failed: ${result.error}`);
    return result.violations;
}

/// A violation list in full: rule, impact, help URL, and every node with its target, HTML
/// and the checks that failed.
export function formatViolations(violations) {
    return violations
        .map((v) => {
            const nodes = v.nodes
                .map(
                    (n) =>
                        `    - ${JSON.stringify(n.target)}\n      ${n.html}\n      ${(n.failureSummary || '').replace(/\n/g, '\n      ')}`,
                )
                .join('\n');
            return `  [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n${nodes}`;
        })
        .join('\n');
}

/// A PNG of the whole page (beyond the viewport) into the screenshots folder.
export async function screenshot(driver, name) {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    const { data } = await driver.sendAndGetDevToolsCommand('Page.captureScreenshot', {
        format: 'png',
        captureBeyondViewport: true,
    });
    const file = path.join(SCREENSHOTS, `${name}.png`);
    fs.writeFileSync(file, Buffer.from(data, 'base64'));
    return file;
}

/// A PNG file's dimensions (from its IHDR chunk).
export function pngSize(file) {
    const b = fs.readFileSync(file);
    const sig = '89504e470d0a1a0a';
    if (b.subarray(0, 8).toString('hex') !== sig) throw new Error(`${file} is not a PNG`);
    return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

// ---------------------------------------------------------------------------------------
// The query pages (`/{lang}/datasets/{id}/query/`, assets/query.js)

/// The query page's result table: header cells and rows of cell texts.
export async function queryResultTable(driver) {
    return driver.executeScript(`
        const t = document.querySelector('#query-result table');
        return {
            header: [...t.querySelectorAll('thead th')].map((c) => c.textContent),
            rows: [...t.querySelectorAll('tbody tr')].map((r) => [...r.cells].map((c) => c.textContent)),
        };`);
}

/// Types `sql` (or keeps the box's) into the query page and runs it; waits for a result or an
/// error and returns { error, status }.
export async function runQuery(driver, sql = null) {
    if (sql !== null) {
        await driver.executeScript('document.getElementById("query-sql").value = arguments[0];', sql);
    }
    await driver.executeScript('document.getElementById("query-status").textContent = "";');
    await driver.findElement(By.id('query-run')).click();
    await driver.wait(async () => {
        const s = await driver.executeScript(`
            const e = document.getElementById('query-error');
            const st = document.getElementById('query-status').textContent;
            const busy = document.getElementById('query-run').disabled;
            return { error: e.hidden ? '' : e.textContent, status: st, busy };`);
        return !s.busy && (s.error !== '' || /\d/.test(s.status) || /no rows|没有返回/.test(s.status));
    }, 180000, 'the query finished');
    return driver.executeScript(`
        const e = document.getElementById('query-error');
        return { error: e.hidden ? '' : e.textContent, status: document.getElementById('query-status').textContent };`);
}

/// GET over HTTP from Node (not the browser): status, content type, the bytes, and the body
/// decoded as UTF-8 with any byte-order mark kept.
export async function fetchText(u) {
    const res = await fetch(u.startsWith('http') ? u : url(u), { redirect: 'manual' });
    const bytes = Buffer.from(await res.arrayBuffer());
    const body = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
    return { status: res.status, type: res.headers.get('content-type') || '', bytes, body };
}

fs.mkdirSync(OUTPUT, { recursive: true });
