import { Deadline, withDeadline } from '../../app/src/lib/deadline';

describe('Deadline', () => {
  it('aborts when the caller aborts, and says it did not expire', () => {
    const caller = new AbortController();
    const deadline = new Deadline(60_000, caller.signal);
    caller.abort();
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.expired).toBe(false);
    deadline.stop();
  });

  it('aborts when the budget runs out, and says it expired', async () => {
    const deadline = new Deadline(5);
    await new Promise((resolve) => deadline.signal.addEventListener('abort', resolve));
    expect(deadline.expired).toBe(true);
  });

  it('is aborted at once for a caller that already left', () => {
    const caller = new AbortController();
    caller.abort();
    const deadline = new Deadline(60_000, caller.signal);
    expect(deadline.signal.aborted).toBe(true);
    deadline.stop();
  });

  it('lets go of the caller once stopped: a later abort of the caller no longer reaches it', async () => {
    const caller = new AbortController();
    const signal = await withDeadline(60_000, caller.signal, async (deadline) => deadline.signal);
    caller.abort();
    expect(signal.aborted).toBe(false);
  });
});
