import { ACTIVE_SESSION_WINDOW_MS, ActiveSessions } from '../../app/src/chat/active-sessions';

describe('active sessions', () => {
  it('tracks at most its bound, forgetting the least recently active session first', () => {
    let now = 0;
    const sessions = new ActiveSessions(2, () => now);
    sessions.touch('a');
    now = 60_000;
    sessions.touch('b');
    now = 120_000;
    sessions.touch('a');
    now = 180_000;
    sessions.touch('c');
    expect(sessions.count()).toBe(2);
    // 'b' (last turn at 1 min) was forgotten, not 'a' (2 min): both 'a' and 'c' are still active.
    now = 90_000 + ACTIVE_SESSION_WINDOW_MS;
    expect(sessions.count()).toBe(2);
  });
});
