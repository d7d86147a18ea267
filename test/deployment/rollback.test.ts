import { parseRollbackArgs } from '../../infra/rollback';

// `npm run rollback -- <stack> [release]`: the command line. The host side runs in the e2e suite.

describe('npm run rollback', () => {
  test('takes a stack and, optionally, a release id', () => {
    expect(parseRollbackArgs(['prod'])).toEqual({ stack: 'prod', release: undefined });
    expect(parseRollbackArgs(['prod', 'r0123456789ab'])).toEqual({ stack: 'prod', release: 'r0123456789ab' });
  });

  test('says how to call it when the stack is missing or there are extra arguments', () => {
    expect(() => parseRollbackArgs([])).toThrow('usage: npm run rollback -- <stack> [release]');
    expect(() => parseRollbackArgs(['prod', 'r0123456789ab', 'extra'])).toThrow(/^usage:/);
  });

  test('refuses something that is not a release id before touching the host', () => {
    expect(() => parseRollbackArgs(['prod', 'latest'])).toThrow(/^release: "latest" is not a release id/);
  });
});
