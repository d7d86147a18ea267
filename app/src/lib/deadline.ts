/**
 * A time budget for one outgoing call, linked to the caller's signal (the client going away).
 *
 * It owns one AbortController and forwards the caller's abort to it with a listener that stop()
 * removes. AbortSignal.any() is not used on purpose: Node keeps a combined signal that has
 * listeners (the SDKs and fetch add one per call) in an internal set until it aborts, so a call
 * that simply finished leaked the signal, its controller and the listeners for good
 * (nodejs/node#55328); at 100 req/s that took a gateway from 88 to 608 MB in 8 minutes.
 */
export class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private timedOut = false;
  private readonly forwardAbort = () => this.controller.abort();
  /** Aborts when the budget runs out or the caller's signal aborts. */
  readonly signal = this.controller.signal;

  constructor(ms: number, private readonly callerSignal?: AbortSignal) {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort();
    }, ms);
    if (callerSignal?.aborted) this.controller.abort();
    else callerSignal?.addEventListener('abort', this.forwardAbort, { once: true });
  }

  /** The budget ran out (as opposed to the caller going away). */
  get expired(): boolean {
    return this.timedOut;
  }

  /** Starts the budget again (a stream chunk arrived). */
  restart(): void {
    this.timer.refresh();
  }

  /** Aborts the call: whoever reads its answer stopped before the end. */
  cancel(): void {
    this.controller.abort();
  }

  /** Ends the link to the caller's signal and the timer; call it once the call is over. */
  stop(): void {
    clearTimeout(this.timer);
    this.callerSignal?.removeEventListener('abort', this.forwardAbort);
  }
}

/** Runs `call` under a Deadline that is stopped however the call ends. */
export async function withDeadline<T>(ms: number, callerSignal: AbortSignal | undefined, call: (deadline: Deadline) => Promise<T>): Promise<T> {
  const deadline = new Deadline(ms, callerSignal);
  try {
    return await call(deadline);
  } finally {
    deadline.stop();
  }
}
