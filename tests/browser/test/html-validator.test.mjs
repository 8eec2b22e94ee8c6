// The W3C Nu HTML Checker (npm vnu-jar, on the machine's Java) over every HTML page of the
// release and over the stylesheet: 0 errors. A known-bad control document goes through the
// same run, so a checker that silently checks nothing cannot pass.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HERE, RELEASE, pageKind, releaseFiles } from '../lib/site.mjs';

const VNU = path.join(HERE, 'node_modules', 'vnu-jar', 'build', 'dist', 'vnu.jar');
const JAVA = process.env.JAVA || 'java';
const CONTROLS = fs.mkdtempSync(path.join(os.tmpdir(), 'envgov-vnu-'));
process.on('exit', () => fs.rmSync(CONTROLS, { recursive: true, force: true }));

/// Runs vnu over files and returns its messages (JSON output; errors only).
function vnu(args, files) {
    const r = spawnSync(JAVA, ['-Xss8m', '-jar', VNU, '--errors-only', '--format', 'json', ...args, ...files], {
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
    });
    if (r.error) throw r.error;
    // vnu writes its JSON report to stderr; exit status 1 means "errors found".
    if (r.status !== 0 && r.status !== 1) {
        throw new Error(`vnu exited with ${r.status}: ${r.stderr.slice(0, 2000)}`);
    }
    const report = JSON.parse(r.stderr || r.stdout);
    return report.messages;
}

function describe(messages) {
    return messages
        .map((m) => `${m.url.replace(`file:${RELEASE}`, '')}:${m.lastLine}.${m.firstColumn ?? ''}: ${m.type}: ${m.message}\n    ${(m.extract || '').replace(/\n/g, ' ')}`)
        .join('\n');
}

test('vnu-jar runs on the machine', () => {
    assert.ok(fs.existsSync(VNU), `${VNU} (npm ci in tests/browser)`);
    const v = execFileSync(JAVA, ['-jar', VNU, '--version'], { encoding: 'utf8' }).trim();
    assert.match(v, /^\d+\.\d+\.\d+/);
});

test('every HTML page of the release: 0 errors', () => {
    const pages = releaseFiles('.html');
    const kinds = new Set(pages.map((p) => `${p.split('/')[1]} ${pageKind(p)}`));
    // The control: a document with known errors must be reported.
    const control = path.join(CONTROLS, 'vnu-control.html');
    fs.writeFileSync(control, '<!DOCTYPE html><html lang="en"><title>control</title><p><div></span>');
    const started = Date.now();
    const messages = vnu([], [control, ...pages.map((p) => path.join(RELEASE, p))]);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const fromControl = messages.filter((m) => m.url.endsWith('vnu-control.html'));
    const errors = messages.filter((m) => !m.url.endsWith('vnu-control.html'));
    assert.ok(fromControl.length > 0, 'the checker reports the errors of the control document');
    console.log(`vnu: ${pages.length} pages of ${kinds.size} kinds checked in ${seconds} s, ${errors.length} errors`);
    assert.equal(errors.length, 0, `Nu HTML Checker errors:\n${describe(errors)}`);
});

test('the stylesheet: 0 errors', () => {
    const sheets = releaseFiles('.css');
    assert.ok(sheets.length > 0, 'the release has a stylesheet');
    const control = path.join(CONTROLS, 'vnu-control.css');
    fs.writeFileSync(control, 'p { colr: red; }\n');
    const messages = vnu(['--css'], [control, ...sheets.map((p) => path.join(RELEASE, p))]);
    assert.ok(messages.some((m) => m.url.endsWith('vnu-control.css')), 'the checker reports the control');
    const errors = messages.filter((m) => !m.url.endsWith('vnu-control.css'));
    assert.equal(errors.length, 0, `CSS errors:\n${describe(errors)}`);
});

test('the SVG charts: 0 errors', (t) => {
    const charts = releaseFiles('.svg');
    if (charts.length === 0) {
        // The charts are rendered as files only once the generator has them.
        t.skip('the release has no SVG files');
        return;
    }
    const control = path.join(CONTROLS, 'vnu-control.svg');
    fs.writeFileSync(control, '<svg xmlns="http://www.w3.org/2000/svg"><rect bogus="1"/></svg>');
    const messages = vnu(['--svg'], [control, ...charts.map((p) => path.join(RELEASE, p))]);
    assert.ok(messages.some((m) => m.url.endsWith('vnu-control.svg')), 'the checker reports the control');
    const errors = messages.filter((m) => !m.url.endsWith('vnu-control.svg'));
    console.log(`vnu: ${charts.length} SVG files checked, ${errors.length} errors`);
    assert.equal(errors.length, 0, `SVG errors:\n${describe(errors)}`);
});
