import { deferred } from '../channels/harness';
import { type FakeFeishu, feishuEnv, messageEvent, signedDelivery, startFakeFeishu } from '../helpers/fake-feishu';
import { startGateway, type TestGateway } from '../helpers/gateway';

// An audited action is acknowledged only once its audit lines are on disk: the answer waits for
// Logs.auditWritten() (held here, to see that nothing leaves before it resolves).

let fake: FakeFeishu;
let gw: TestGateway;

beforeAll(async () => {
  fake = await startFakeFeishu();
  gw = await startGateway(feishuEnv(fake));
});

afterAll(async () => {
  await gw?.close();
  await fake?.close();
});

/** Holds auditWritten() until released; `asked` resolves when something waits for it. */
function holdAuditWrites() {
  const asked = deferred();
  const release = deferred();
  const original = gw.deps.logs.auditWritten;
  gw.deps.logs.auditWritten = async () => {
    asked.resolve();
    await release.promise;
    return original();
  };
  return { asked: asked.promise, release: () => (release.resolve(), (gw.deps.logs.auditWritten = original)) };
}

/** Sends the request and reports whether its response has arrived. */
function track(request: Promise<Response>) {
  let arrived = false;
  const response = request.then((value) => ((arrived = true), value));
  return { response, arrived: () => arrived };
}

const turnOfTheLoop = () => new Promise((resolve) => setImmediate(resolve));

it.each([
  ['an admin answer', () => fetch(`${gw.url}/admin/model`, { headers: { authorization: `Bearer ${gw.adminToken}` } }), 200],
  ['a refused admin call', () => fetch(`${gw.url}/admin/model`, { headers: { authorization: 'Bearer not-the-admin-token' } }), 401],
  [
    'a refused IM callback',
    () => {
      const delivery = signedDelivery(messageEvent({ text: 'forged' }), { signature: 'forged' });
      return fetch(`${gw.url}/api/feishu/callback`, { method: 'POST', headers: delivery.headers, body: delivery.body });
    },
    401,
  ],
])('%s leaves only once its audit lines are on disk', async (_what, send, status) => {
  const hold = holdAuditWrites();
  const request = track(send());
  try {
    await hold.asked;
    await turnOfTheLoop();
    expect(request.arrived()).toBe(false);
  } finally {
    hold.release();
  }
  expect((await request.response).status).toBe(status);
});
