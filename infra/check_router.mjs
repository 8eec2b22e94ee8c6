// Runs the CloudFront Function of infra/template.yaml (extracted by check_iam.py --router)
// against a stand-in key value store, the way CloudFront calls it on a viewer request.
//
// Usage: node infra/check_router.mjs FUNCTION_CODE_FILE
// Prints "ok   ..." / "FAIL ..." per case and a last line "passed=N failed=M".

import { readFileSync } from 'node:fs';

const source = readFileSync(process.argv[2], 'utf8');
if (!source.startsWith("import cf from 'cloudfront';")) {
  console.log("FAIL router: the code must start with import cf from 'cloudfront';");
  console.log('passed=0 failed=1');
  process.exit(1);
}

// The stand-in for CloudFront's `cloudfront` module: one key value store.
let store = {};
const cf = {
  kvs() {
    return {
      async get(key) {
        if (!(key in store)) throw new Error(`key not found: ${key}`);
        return store[key];
      },
    };
  },
};
const body = source.replace("import cf from 'cloudfront';", '') + '\nreturn handler;';
const handler = new Function('cf', body)(cf);

const event = (uri) => ({
  version: '1.0',
  context: { eventType: 'viewer-request' },
  viewer: { ip: '192.0.2.1' },
  request: { method: 'GET', uri, querystring: {}, headers: {}, cookies: {} },
});

let passed = 0;
let failed = 0;
async function expect(name, kvs, uri, check) {
  store = kvs;
  const result = await handler(event(uri));
  const problem = check(result);
  if (problem) {
    failed += 1;
    console.log(`FAIL router: ${name}: ${problem} (got ${JSON.stringify(result)})`);
  } else {
    passed += 1;
    console.log(`ok   router: ${name}`);
  }
}
const live = { 'site/current': '2026-01-31-0123456789ab' };
const rewritten = (to) => (r) => (r.uri === to && !r.statusCode ? null : `expected uri ${to}`);
const status = (code) => (r) => (r.statusCode === code ? null : `expected status ${code}`);

await expect('/ serves the language choice', live, '/', rewritten('/site/releases/2026-01-31-0123456789ab/index.html'));
await expect('directory with slash', live, '/en/', rewritten('/site/releases/2026-01-31-0123456789ab/en/index.html'));
await expect('directory without slash', live, '/zh/datasets', rewritten('/site/releases/2026-01-31-0123456789ab/zh/datasets/index.html'));
await expect('file', live, '/en/about.html', rewritten('/site/releases/2026-01-31-0123456789ab/en/about.html'));
await expect('asset', live, '/assets/site.css', rewritten('/site/releases/2026-01-31-0123456789ab/assets/site.css'));
await expect('404 page path', live, '/404.html', rewritten('/site/releases/2026-01-31-0123456789ab/404.html'));
// Stable dataset URLs are files of the live release; dated archives are served as stored.
const R = '/site/releases/2026-01-31-0123456789ab';
await expect('stable dataset file → live release', live, '/datasets/msw/msw.csv', rewritten(`${R}/datasets/msw/msw.csv`));
await expect('stable datapackage → live release', live, '/datasets/cems-daily/datapackage.json', rewritten(`${R}/datasets/cems-daily/datapackage.json`));
await expect('catalogue.json → live release', live, '/datasets/catalogue.json', rewritten(`${R}/datasets/catalogue.json`));
await expect('archive passes through', live, '/datasets/msw/archive/2026-01-31/msw.csv', rewritten('/datasets/msw/archive/2026-01-31/msw.csv'));
await expect('archive revision passes through', live, '/datasets/msw/archive/2026-01-31/r2/datapackage.json', rewritten('/datasets/msw/archive/2026-01-31/r2/datapackage.json'));
await expect('archive needs no live release', {}, '/datasets/msw/archive/2026-01-31/msw.csv', rewritten('/datasets/msw/archive/2026-01-31/msw.csv'));
await expect('"archive" as a file name is no archive', live, '/datasets/msw/archive.csv', rewritten(`${R}/datasets/msw/archive.csv`));
await expect('publications stay inside the release', live, '/datasets/publications/x/catalogue.json', rewritten(`${R}/datasets/publications/x/catalogue.json`));
await expect('datasets dot-dot is refused', live, '/datasets/../site/current', status(404));
await expect('datasets encoded dot-dot is refused', live, '/datasets/%2e%2e/site/current', status(404));
await expect('datasets encoded slash is refused', live, '/datasets/msw%2f..%2f..%2fsite/current', status(404));
await expect('archive dot-dot is refused', live, '/datasets/msw/archive/../../../runs/2026-01-31/report.json', status(404));
await expect('archive encoded dot-dot is refused', live, '/datasets/msw/archive/%2E%2E/%2e%2e/x', status(404));
await expect('hidden file under datasets is refused', live, '/datasets/msw/.env', status(404));
await expect('stable dataset without a release answers 503', {}, '/datasets/msw/msw.csv', status(503));
await expect('stable dataset with a bad pointer answers 503', { 'site/current': '../evil' }, '/datasets/catalogue.json', status(503));
await expect('raw/ stays inside the release', live, '/raw/msw/2026-01-31/x.csv', rewritten('/site/releases/2026-01-31-0123456789ab/raw/msw/2026-01-31/x.csv'));
await expect('runs/ stays inside the release', live, '/runs/2026-01-31/report.json', rewritten('/site/releases/2026-01-31-0123456789ab/runs/2026-01-31/report.json'));
await expect('site/current is not exposed', live, '/site/current', rewritten('/site/releases/2026-01-31-0123456789ab/site/current/index.html'));
await expect('dot-dot is refused', live, '/../raw/x.csv', status(404));
await expect('encoded dot-dot is refused', live, '/%2e%2e/raw/x.csv', status(404));
await expect('hidden file is refused', live, '/.env', status(404));
await expect('pointer value is trimmed', { 'site/current': '2026-01-31-0123456789ab\n' }, '/en/', rewritten('/site/releases/2026-01-31-0123456789ab/en/index.html'));
await expect('no release yet answers 503', {}, '/en/', status(503));
await expect('a bad pointer answers 503', { 'site/current': '../evil' }, '/en/', status(503));

console.log(`passed=${passed} failed=${failed}`);
process.exit(failed ? 1 : 0);
