import { readdirSync, readFileSync } from 'node:fs';
import * as terminal from '../../app/src/tui/client';
import { PUBLIC_DIR, SSE_PARSER_PATH, VENDOR_FILES } from '../../app/src/web/plugin';
import { startGateway, type TestGateway } from '../helpers/gateway';

describe('the web page, served by the gateway', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // One API request per 50 s: enough to tell that page files are not counted.
    gw = await startGateway({ RATE_LIMIT_QPS: '0.02' });
  });
  afterAll(() => gw.close());

  it('serves the page at / with a same-origin-only Content-Security-Policy', async () => {
    const response = await fetch(`${gw.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await response.text();
    expect(html).toContain('<script type="module" src="app.js"></script>');
    // No inline script or style: the CSP would block them.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|style="/);
  });

  it('tells where to find the key, locally and for a deployed stack', async () => {
    const html = await (await fetch(`${gw.url}/`)).text();
    const help = html.match(/<p id="key-help">([\s\S]*?)<\/p>/)?.[1].replace(/<[^>]+>/g, '').replace(/\s+/g, ' ') ?? '';
    expect(help).toContain('./data/secrets/api-key');
    // A deployed gateway has no key file: the stack passes its key in CLAWDBOT_API_KEYS.
    expect(help).toContain('pulumi stack output gatewayApiKey --show-secrets');
    expect(help).not.toContain('/opt/clawdbot');
  });

  it('serves every file of app/public and the stream parser module with JavaScript types', async () => {
    for (const file of readdirSync(PUBLIC_DIR)) {
      const response = await fetch(`${gw.url}/${file}`);
      expect([file, response.status]).toEqual([file, 200]);
    }
    const appJs = await fetch(`${gw.url}/app.js`);
    expect(appJs.headers.get('content-type')).toMatch(/^(text|application)\/javascript/);
    const parser = await fetch(`${gw.url}${SSE_PARSER_PATH}`);
    expect(parser.status).toBe(200);
    expect(parser.headers.get('content-type')).toMatch(/^(text|application)\/javascript/);
    expect(await parser.text()).toMatch(/export\s*\{[^}]*createParser/);
  });

  it('serves the Markdown and highlighting libraries itself, every module the page imports', async () => {
    for (const route of [...Object.keys(VENDOR_FILES), '/vendor/highlight/languages/python.js']) {
      const response = await fetch(`${gw.url}${route}`);
      expect([route, response.status]).toEqual([route, 200]);
      expect(response.headers.get('content-type')).toMatch(/^(text\/css|(text|application)\/javascript)/);
    }
    const imports = [...readFileSync(`${PUBLIC_DIR}/markdown.js`, 'utf8').matchAll(/^import .* from '\.(\/vendor\/.*)';$/gm)].map((m) => m[1]);
    expect(imports.length).toBeGreaterThan(5);
    for (const route of imports) expect([route, (await fetch(`${gw.url}${route}`)).status]).toEqual([route, 200]);
  });

  it('serves the page the same gateway client module the terminal chat runs', async () => {
    const pageClient = await (await fetch(`${gw.url}/gateway.js`)).text();
    expect(pageClient).toBe(readFileSync(require.resolve('../../app/public/gateway.js'), 'utf8'));
    const pageModule = require('../../app/public/gateway.js');
    expect(terminal.terminalClient(new URL(gw.url), gw.apiKey)).toBeInstanceOf(pageModule.GatewayClient);
    expect(terminal.GatewayError).toBe(pageModule.GatewayError);
  });

  it('keeps the JSON 404 for unknown paths and does not serve files outside app/public', async () => {
    for (const path of ['/nope.html', '/../package.json', '/%2e%2e/package.json', '/vendor/index.cjs', '/vendor/highlight/languages/nope.js', '/vendor/highlight/languages/..%2f..%2fpackage.json']) {
      const response = await fetch(`${gw.url}${path}`);
      expect([path, response.status]).toEqual([path, 404]);
      expect((await response.json()).error.code).toBe('not_found');
    }
  });

  it('leaves the API responses without the page headers', async () => {
    const response = await fetch(`${gw.url}/health`);
    expect(response.headers.get('content-security-policy')).toBeNull();
  });

  it('does not count page files against the rate limit, while API calls still are', async () => {
    const loads = await Promise.all(Array.from({ length: 10 }, () => fetch(`${gw.url}/style.css`)));
    expect(loads.map((r) => r.status)).toEqual(Array(10).fill(200));
    const headers = { authorization: `Bearer ${gw.apiKey}` };
    expect((await fetch(`${gw.url}/v1/models`, { headers })).status).toBe(200);
    const limited = await fetch(`${gw.url}/v1/models`, { headers });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
