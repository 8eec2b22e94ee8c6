// Full-text search (issue 11, Pagefind): the expected pages computed from the release's
// HTML, independently of Pagefind, and the search page's results as the browser shows them.
//
// A page's searchable text is its `<main>` (what `data-pagefind-body` marks) with the tags
// stripped, less the hidden filter elements, every element marked `data-pagefind-ignore` (with
// all it holds: the site leaves tables of numbers and the explanations repeated on every unit
// page out of the index) and what Pagefind never indexes (script, style, svg, nav, form,
// label, noscript, template, iframe, footer); its filters are those `data-pagefind-filter`
// elements. Every page whose text contains the query must be found;
// every page found must contain each of the query's terms (Pagefind ANDs the terms).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import webdriver from 'selenium-webdriver';
import { LANGS, RELEASE, consoleErrors, releaseFiles } from './site.mjs';

const { By } = webdriver;

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };
export const decode = (s) =>
    s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e) => {
        if (e[0] === '#') return String.fromCodePoint(e[1].toLowerCase() === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
        return ENTITIES[e.toLowerCase()] ?? m;
    });

const FILTER = /<span hidden data-pagefind-ignore data-pagefind-filter="([a-z]+)">([^<]*)<\/span>/g;

/// The HTML less each element whose start tag carries `data-pagefind-ignore`, up to its matching
/// end tag (elements of the same name inside it are counted).
export function withoutIgnored(html) {
    const start = /<([a-z][a-z0-9]*)\b[^>]*\sdata-pagefind-ignore\b[^>]*>/gi;
    let out = '';
    let from = 0;
    for (;;) {
        start.lastIndex = from;
        const m = start.exec(html);
        if (!m) return out + html.slice(from);
        out += `${html.slice(from, m.index)} `;
        const tags = new RegExp(`<(/?)${m[1]}\\b[^>]*>`, 'gi');
        tags.lastIndex = m.index + m[0].length;
        let depth = 1;
        while (depth > 0) {
            const t = tags.exec(html);
            assert.ok(t, `<${m[1]} data-pagefind-ignore> is closed`);
            depth += t[1] ? -1 : 1;
            from = t.index + t[0].length;
        }
    }
}

/// Every indexed page of a language (all but the search page and 404): its URL path, the text
/// of its <main> and its filters.
function corpus(lang) {
    return releaseFiles('.html')
        .filter((p) => p.startsWith(`/${lang}/`) && !p.startsWith(`/${lang}/search/`) && !p.endsWith('/404.html'))
        .map((p) => {
            const html = fs.readFileSync(path.join(RELEASE, p), 'utf8');
            const m = html.match(/<main[^>]*>([\s\S]*)<\/main>/);
            assert.ok(m, `${p} has a <main>`);
            const filters = {};
            for (const [, name, value] of m[1].matchAll(FILTER)) (filters[name] ??= []).push(decode(value));
            const text = decode(
                withoutIgnored(m[1].replace(FILTER, ' '))
                    // What Pagefind leaves out of a page's text (its documented defaults).
                    .replace(/<(script|style|svg|nav|form|label|noscript|template|iframe|footer)\b[\s\S]*?<\/\1>/g, ' ')
                    .replace(/<[^>]+>/g, ' '),
            )
                .replace(/\s+/g, ' ')
                .trim();
            return { path: p, text, lower: text.toLowerCase(), filters };
        });
}
export const CORPUS = Object.fromEntries(LANGS.map((l) => [l, corpus(l)]));

/// The pages of `lang` whose text contains every one of `terms` (case-insensitive).
export const containing = (lang, terms) =>
    CORPUS[lang].filter((p) => terms.every((t) => p.lower.includes(t.toLowerCase()))).map((p) => p.path);

/// Every result of the search page open in `driver` (clicking "more" until all are shown),
/// once it reports them: [{ href, title, excerpt }]. No console error meanwhile.
export async function searchResults(driver) {
    await driver.wait(
        async () => {
            const s = await driver.findElement(By.id('search-status')).getText();
            const loading = await driver.executeScript(
                "return document.getElementById('search-status').getAttribute('data-loading')",
            );
            return s.trim().length > 0 && s !== loading;
        },
        30000,
        'the search page reports its results',
    );
    for (;;) {
        const more = await driver.findElement(By.id('search-more'));
        if (!(await more.isDisplayed())) break;
        const n = await driver.executeScript("return document.querySelectorAll('#search-results > li').length");
        await more.click();
        await driver.wait(
            async () => (await driver.executeScript("return document.querySelectorAll('#search-results > li').length")) > n,
            15000,
        );
    }
    const links = await driver.executeScript(
        "return [...document.querySelectorAll('#search-results > li')].map((li) => ({ href: li.querySelector('h2 > a').getAttribute('href'), title: li.querySelector('h2').textContent, excerpt: li.querySelector('p').textContent }))",
    );
    const errors = await consoleErrors(driver);
    assert.deepEqual(errors, [], errors.join('\n'));
    return links;
}

/// `found` holds every page of `expected`, and each page found holds every term.
export function assertFound(lang, found, expected, terms) {
    const hrefs = new Set(found.map((f) => f.href));
    assert.equal(hrefs.size, found.length, 'no page is listed twice');
    const missing = expected.filter((p) => !hrefs.has(p));
    assert.deepEqual(missing, [], `pages that contain ${JSON.stringify(terms)} and were not found`);
    const byPath = new Map(CORPUS[lang].map((p) => [p.path, p]));
    for (const f of found) {
        const page = byPath.get(f.href);
        assert.ok(page, `${f.href} is an indexed page of /${lang}/`);
        for (const t of terms) {
            for (const piece of t.toLowerCase().split(/[^\p{L}\p{N}_]+/u).filter(Boolean)) {
                assert.ok(page.lower.includes(piece), `${f.href} was found for ${JSON.stringify(terms)} but has no ${JSON.stringify(piece)}`);
            }
        }
    }
}
