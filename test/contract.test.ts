import { METRICS, PORTS } from '../app/src/contract';

describe('shared contract', () => {
  it('metric names are valid, distinct Prometheus names', () => {
    const names = Object.values(METRICS);
    for (const name of names) expect(name).toMatch(/^clawdbot_[a-z0-9_]+$/);
    expect(new Set(names).size).toBe(names.length);
  });

  it('keeps the public and metrics ports apart', () => {
    expect(PORTS.gateway).toBe(18789);
    expect(PORTS.metrics).not.toBe(PORTS.gateway);
  });
});
