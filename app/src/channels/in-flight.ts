import type { Logger } from 'pino';

/** Counts the IM messages this process is handling, and says when it turns busy or idle. */
export class MessagesInFlight {
  private count = 0;
  private readonly listeners: Array<(busy: boolean) => void> = [];

  onBusyChange(listener: (busy: boolean) => void): void {
    this.listeners.push(listener);
  }

  started(): void {
    if (this.count++ === 0) for (const listener of this.listeners) listener(true);
  }

  finished(): void {
    if (--this.count === 0) for (const listener of this.listeners) listener(false);
  }
}

/**
 * How long one protection lasts. A replica busy without a break for longer loses it (until it
 * next turns busy): a never-idle task must not block scale-in forever, and a message cut off by
 * scale-in is still finished by another replica (the inbox's lease), only later.
 */
export const PROTECTION_MINUTES = 15;

/**
 * ECS task scale-in protection (the ECS agent's endpoint, `$ECS_AGENT_URI`) on while this
 * replica handles IM messages and off once it is idle, so a scale-in takes idle tasks first.
 * Calls go one at a time and only the latest state is sent; a failed call is logged and the
 * next change tries again.
 */
export function protectFromScaleInWhileBusy(agentUri: string, inFlight: MessagesInFlight, log: Logger): void {
  let wanted = false;
  let sent = false;
  let sending: Promise<void> | undefined;

  const put = async (enabled: boolean) => {
    const response = await fetch(`${agentUri}/task-protection/v1/state`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(enabled ? { ProtectionEnabled: true, ExpiresInMinutes: PROTECTION_MINUTES } : { ProtectionEnabled: false }),
      signal: AbortSignal.timeout(5_000),
    });
    if (!response.ok) throw new Error(`the ECS agent answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
  };

  const sendLatest = async () => {
    while (sent !== wanted) {
      const enabled = wanted;
      try {
        await put(enabled);
        sent = enabled;
      } catch (error) {
        log.error({ err: error, protectionEnabled: enabled }, 'setting ECS task scale-in protection failed');
        return;
      }
    }
  };

  inFlight.onBusyChange((busy) => {
    wanted = busy;
    sending ??= sendLatest().finally(() => (sending = undefined));
  });
}
