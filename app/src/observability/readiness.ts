/** One more thing /ready checks: 'ok', or why the gateway is not ready. */
export type ReadinessCheck = () => string;

/**
 * What /ready checks besides the store and the model, registered by the plugins that own it
 * (an IM channel's long connection). Each check answers at once from state its owner keeps.
 */
export class ReadinessChecks {
  private readonly checks = new Map<string, ReadinessCheck>();

  add(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  run(): Record<string, string> {
    return Object.fromEntries([...this.checks].map(([name, check]) => [name, check()]));
  }
}
