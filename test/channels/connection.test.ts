import { ConnectionFailures, FAILURE_LOG_INTERVAL_MS } from '../../app/src/channels/connection';
import { captureLogs } from './harness';

describe('ConnectionFailures (a long connection that keeps failing)', () => {
  it('logs the first failure, then at most one line a minute with the count left out, and the reconnect', () => {
    let now = 0;
    const captured = captureLogs();
    const failures = new ConnectionFailures('DingTalk Stream', captured.logs.error, () => now);
    expect(failures.reason()).toBe('not connected yet');

    for (let second = 0; second < 90; second++, now += 1000) failures.failed(new Error(`connect ECONNREFUSED (${second})`));
    const errors = captured.lines.filter((line) => line.stream === 'error');
    expect(errors.map((line) => [line.msg, line.failuresNotLogged])).toEqual([
      ['DingTalk Stream: could not connect; retrying', 0],
      ['DingTalk Stream: could not connect; retrying', FAILURE_LOG_INTERVAL_MS / 1000 - 1],
    ]);
    expect(failures.reason()).toBe('not connected: connect ECONNREFUSED (89)');

    failures.connected();
    expect(captured.lines.at(-1)).toMatchObject({ msg: 'DingTalk Stream: connected again', level: 40 });
    failures.failed(new Error('dropped'));
    expect(captured.lines.at(-1)).toMatchObject({ msg: 'DingTalk Stream: could not connect; retrying', error: 'dropped' });
  });
});
