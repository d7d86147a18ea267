import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { browserCommand, browsableUrl, openWebPageIfAsked } from '../../app/src/web/open';
import { buildApp } from '../helpers/gateway';

const REPO_ROOT = path.resolve(__dirname, '../..');

function capturedLogger(): { log: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { log: pino(sink), lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}

async function eventually<T>(read: () => T | undefined, attempts = 200): Promise<T> {
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const value = read();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('condition not reached');
}

describe('npm start -- --open', () => {
  let bin: string;
  beforeEach(() => {
    bin = mkdtempSync(path.join(tmpdir(), 'clawdbot-open-'));
  });
  afterEach(() => rmSync(bin, { recursive: true, force: true }));

  it('picks the desktop opener per platform, and none on a Linux box without a display', () => {
    const url = 'http://localhost:18789/';
    expect(browserCommand(url, 'darwin', {})).toEqual({ command: 'open', args: [url] });
    expect(browserCommand(url, 'win32', {})?.command).toBe('cmd');
    expect(browserCommand(url, 'linux', { DISPLAY: ':0' })).toEqual({ command: 'xdg-open', args: [url] });
    expect(browserCommand(url, 'linux', { WAYLAND_DISPLAY: 'wayland-0' })?.command).toBe('xdg-open');
    expect(browserCommand(url, 'linux', {})).toBeUndefined();
  });

  it('visits a wildcard listen address as localhost', () => {
    expect(browsableUrl('http://0.0.0.0:18789')).toBe('http://localhost:18789/');
    expect(browsableUrl('http://[::]:18789')).toBe('http://localhost:18789/');
    expect(browsableUrl('http://127.0.0.1:18789')).toBe('http://127.0.0.1:18789/');
  });

  /** An xdg-open in `bin` that writes the URL it was given to the returned file. */
  function fakeXdgOpen(): string {
    const record = path.join(bin, 'opened');
    writeFileSync(path.join(bin, 'xdg-open'), `#!/bin/sh\necho "$1" > "${record}"\n`);
    chmodSync(path.join(bin, 'xdg-open'), 0o755);
    return record;
  }

  it('runs xdg-open with the page URL when a display exists', async () => {
    const record = fakeXdgOpen();
    const { log } = capturedLogger();
    openWebPageIfAsked(['node', 'main.js', '--open'], 'http://0.0.0.0:18789', log, 'linux', { PATH: bin, DISPLAY: ':0' });
    // Not before echo has written: the shell creates a redirect's file empty first.
    const opened = await eventually(() => (existsSync(record) ? readFileSync(record, 'utf8').trim() || undefined : undefined));
    expect(opened).toBe('http://localhost:18789/');
  });

  it('prints the URL instead when there is no display', () => {
    const { log, lines } = capturedLogger();
    openWebPageIfAsked(['--open'], 'http://0.0.0.0:18789', log, 'linux', { PATH: bin });
    expect(lines()).toEqual([expect.objectContaining({ url: 'http://localhost:18789/', msg: expect.stringContaining('open http://localhost:18789/ in a browser') })]);
  });

  it('logs the URL and carries on when the opener is not installed', async () => {
    const { log, lines } = capturedLogger();
    expect(() => openWebPageIfAsked(['--open'], 'http://127.0.0.1:18789', log, 'linux', { PATH: bin, DISPLAY: ':0' })).not.toThrow();
    const warning = await eventually(() => lines().find((line) => line.level === 40));
    expect(warning.msg).toContain('open http://127.0.0.1:18789/ in a browser');
  });

  it('is what `npm start -- --open` does: the started gateway opens its own page', async () => {
    buildApp();
    const record = fakeXdgOpen();
    // prestart (the build) is done above; --ignore-scripts skips only it, not start itself.
    const npmStart = spawn('npm', ['start', '--ignore-scripts', '--silent', '--', '--open'], {
      cwd: REPO_ROOT,
      env: { PATH: `${bin}:${process.env.PATH}`, HOME: process.env.HOME, DISPLAY: ':0', HOST: '127.0.0.1', PORT: '0', METRICS_PORT: '0', CLAWDBOT_DATA_DIR: path.join(bin, 'data') },
      stdio: 'ignore',
      detached: true,
    });
    const exited = once(npmStart, 'exit');
    try {
      const opened = await eventually(() => (existsSync(record) ? readFileSync(record, 'utf8').trim() : undefined), 1200);
      expect(opened).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = await fetch(opened);
      expect([page.status, await page.text()]).toEqual([200, expect.stringContaining('<title>clawdbot</title>')]);
    } finally {
      // npm and the gateway under it: the whole process group.
      process.kill(-(npmStart.pid as number), 'SIGTERM');
      await exited;
    }
  }, 120_000);

  it('does nothing without --open', () => {
    const { log, lines } = capturedLogger();
    openWebPageIfAsked(['node', 'main.js'], 'http://0.0.0.0:18789', log, 'linux', { PATH: bin, DISPLAY: ':0' });
    expect(lines()).toEqual([]);
  });
});
