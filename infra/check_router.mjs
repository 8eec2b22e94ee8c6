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
await expect('datasets pass through', live, '/datasets/msw/msw.csv', rewritten('/datasets/msw/msw.csv'));
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
