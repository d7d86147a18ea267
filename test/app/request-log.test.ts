import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { RequestLog } from '../../app/src/http/request-log';
import { loadSettings } from '../../app/src/lib/config';
import { REDACTED_PATHS } from '../../app/src/observability/logs';
import { buildGateway } from '../../app/src/server';
import { createDeps } from '../../app/src/startup';

/** A logger like error.log (warn and up, redacted) that keeps its lines. */
function errorLogLike() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'warn', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

describe('request.log (the error log with the request id)', () => {
  it('writes warnings and errors with the reqId, redacted; drops what the log does not take', () => {
    const { logger, lines } = errorLogLike();
    const log = new RequestLog(logger, { reqId: 'req_1' });
    log.info('incoming request');
    log.debug({ detail: 1 }, 'detail');
    log.warn({ headers: { authorization: 'Bearer secret-token-value' } }, 'slow client');
    log.error(new Error('boom'));
    expect(lines.map((line) => [line.reqId, line.msg])).toEqual([
      ['req_1', 'slow client'],
      ['req_1', 'boom'],
    ]);
    expect(JSON.stringify(lines)).not.toContain('secret-token-value');
    expect(log.child({ part: 'x' }).level).toBe('warn');
  });

  it('is no pino child for a request that logs nothing (pino redacts the bindings of each child)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-request-log-'));
    const deps = await createDeps(loadSettings({ CLAWDBOT_DATA_DIR: dir, CLAWDBOT_API_KEYS: 'request-log-key-0123456789' }));
    const app = await buildGateway(deps);
    try {
      const child = jest.spyOn(deps.logs.error, 'child');
      for (let i = 0; i < 3; i++) expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
      expect((await app.inject({ method: 'GET', url: '/nowhere' })).statusCode).toBe(404);
      expect(child).not.toHaveBeenCalled();
    } finally {
      await app.close();
      await deps.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
