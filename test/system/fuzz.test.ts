/**
 * Property: no client input makes the gateway answer 5xx. Every public route gets bodies
 * that are malformed JSON, valid JSON of the wrong shape, huge or deeply nested, invalid
 * UTF-8, or sent under the wrong content type, with and without valid credentials.
 * Bounded: 1,500 requests (34 s on a 2-core machine under a load of 16).
 */
import fc from 'fast-check';
import { ROUTES } from '../../app/src/contract';
import { startGatewayWithFakeModel } from '../helpers/gateway';
import { dingtalkEnv, startFakeDingtalk, type FakeDingtalk } from '../helpers/fake-dingtalk';
import { feishuEnv, startFakeFeishu, type FakeFeishu } from '../helpers/fake-feishu';

type Gateway = Awaited<ReturnType<typeof startGatewayWithFakeModel>>;

const ENDPOINTS: Array<{ method: string; path: string; auth: 'api' | 'admin' | 'none' }> = [
  { method: 'GET', path: ROUTES.health, auth: 'none' },
  { method: 'GET', path: ROUTES.ready, auth: 'none' },
  { method: 'GET', path: ROUTES.web, auth: 'none' },
  { method: 'GET', path: ROUTES.models, auth: 'api' },
  { method: 'POST', path: ROUTES.chatCompletions, auth: 'api' },
  { method: 'POST', path: ROUTES.chat, auth: 'api' },
  { method: 'GET', path: ROUTES.adminModel, auth: 'admin' },
  { method: 'PUT', path: ROUTES.adminModel, auth: 'admin' },
  { method: 'POST', path: ROUTES.dingtalkCallback, auth: 'none' },
  { method: 'POST', path: ROUTES.feishuCallback, auth: 'none' },
];

const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', undefined];

const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme', maxLength: 50 }), fc.constantFrom('', ' ', '\u0000', 'hello', 'dingtalk:x', 'feishu:x', '\ud800'));
const hugeText = fc.integer({ min: 10_000, max: 200_000 }).map((n) => 'x'.repeat(n));
const scalar = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
/** Values with the fields the routes read, of right and wrong types. */
const field = fc.oneof(scalar, hugeText, fc.array(scalar, { maxLength: 3 }), fc.dictionary(text, scalar, { maxKeys: 3 }));
const message = fc.record(
  { role: fc.oneof(fc.constantFrom('system', 'user', 'assistant', 'developer', 'tool'), field), content: fc.oneof(field, fc.array(fc.record({ type: fc.constantFrom('text', 'image_url', 'audio'), text: field, image_url: field }, { requiredKeys: ['type'] }), { maxLength: 3 })) },
  { requiredKeys: [] },
);
const shapedBody = fc.record(
  {
    message: field,
    sessionId: field,
    stream: fc.oneof(fc.boolean(), field),
    channel: field,
    messages: fc.oneof(fc.array(message, { maxLength: 4 }), field),
    max_tokens: field,
    temperature: field,
    name: field,
    provider: field,
    endpoint: field,
    apiKey: field,
    type: field,
    challenge: field,
    encrypt: field,
    header: field,
    event: field,
  },
  { requiredKeys: [] },
);
const nesting = fc.integer({ min: 100, max: 100_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`);
const deepObject = fc.integer({ min: 100, max: 20_000 }).map((depth) => `${'{"message":'.repeat(depth)}"x"${'}'.repeat(depth)}`);

/** The body as bytes: JSON of any shape, near-JSON, nesting, random bytes, invalid UTF-8. */
const body: fc.Arbitrary<Uint8Array | undefined> = fc.oneof(
  { weight: 5, arbitrary: shapedBody.map((value) => Buffer.from(JSON.stringify(value))) },
  { weight: 2, arbitrary: fc.json().map((json) => Buffer.from(json)) },
  { weight: 2, arbitrary: fc.string().map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: fc.oneof(nesting, deepObject).map((s) => Buffer.from(s)) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 200 }) },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.constantFrom('message', 'sessionId', 'name')).map(([bytes, key]) =>
      Buffer.concat([Buffer.from(`{"${key}":"`), Buffer.from([0xff, 0xfe, ...bytes, 0xc3]), Buffer.from('"}')]),
    ),
  },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const request = fc.record({
  endpoint: fc.constantFrom(...ENDPOINTS),
  contentType: fc.constantFrom(...CONTENT_TYPES),
  authorized: fc.boolean(),
  body,
});

describe('fuzzed client input', () => {
  let gw: Gateway;
  let dingtalk: FakeDingtalk;
  let feishu: FakeFeishu;
  beforeAll(async () => {
    [dingtalk, feishu] = [await startFakeDingtalk(), await startFakeFeishu()];
    gw = await startGatewayWithFakeModel({ RATE_LIMIT_QPS: '1000000', ...dingtalkEnv(dingtalk), ...feishuEnv(feishu) });
  });
  afterAll(async () => {
    await gw?.close();
    await dingtalk?.close();
    await feishu?.close();
  });

  it('never answers 5xx to anything a client sends, on any public route', async () => {
    await fc.assert(
      fc.asyncProperty(request, async ({ endpoint, contentType, authorized, body: bytes }) => {
        const token = endpoint.auth === 'admin' ? gw.adminToken : gw.apiKey;
        const headers: Record<string, string> = { ...(contentType ? { 'content-type': contentType } : {}), ...(authorized ? { authorization: `Bearer ${token}` } : {}) };
        const sendsBody = endpoint.method !== 'GET' && bytes !== undefined;
        const response = await fetch(`${gw.url}${endpoint.path}`, { method: endpoint.method, headers, ...(sendsBody ? { body: new Uint8Array(bytes) } : {}) });
        const answer = await response.text();
        if (response.status >= 500) throw new Error(`${endpoint.method} ${endpoint.path} answered ${response.status}: ${answer.slice(0, 300)}`);
      }),
      { numRuns: 1500 },
    );
  }, 120_000);
});
