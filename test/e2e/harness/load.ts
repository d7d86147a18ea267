// Steady HTTP load against the gateway while a deploy step runs: every request must succeed.
// Workers alternate a health check and an authenticated chat exchange, so both the proxy and
// the bot (its store and conversation log) are on the path.

export interface LoadResult {
  ok: number;
  failed: number;
  /** The first few failures, for the assertion message. */
  failures: string[];
}

export class LoadLoop {
  private running = true;
  private ok = 0;
  private failed = 0;
  private readonly failures: string[] = [];
  private readonly workers: Array<Promise<void>>;

  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
    workers = 4,
  ) {
    this.workers = Array.from({ length: workers }, (_, index) => this.work(index));
  }

  private async work(index: number): Promise<void> {
    for (let i = 0; this.running; i++) {
      const chat = i % 2 === 1;
      try {
        const response = chat
          ? await fetch(`${this.baseUrl}/api/chat`, {
              method: 'POST',
              headers: { authorization: `Bearer ${this.apiKey}`, 'content-type': 'application/json' },
              body: JSON.stringify({ sessionId: `e2e-load-${index}`, message: 'hello' }),
              signal: AbortSignal.timeout(10_000),
            })
          : await fetch(`${this.baseUrl}/health`, { signal: AbortSignal.timeout(10_000) });
        const body = await response.text();
        if (response.status === 200) this.ok++;
        else this.fail(`${chat ? 'POST /api/chat' : 'GET /health'}: ${response.status} ${body.slice(0, 200)}`);
      } catch (error) {
        this.fail(`${chat ? 'POST /api/chat' : 'GET /health'}: ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  private fail(message: string): void {
    this.failed++;
    if (this.failures.length < 10) this.failures.push(message);
  }

  async stop(): Promise<LoadResult> {
    this.running = false;
    await Promise.all(this.workers);
    return { ok: this.ok, failed: this.failed, failures: this.failures };
  }
}
