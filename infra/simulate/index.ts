import * as pulumi from '@pulumi/pulumi';
import stackProgram = require('../index');
import { mockCall, mockState } from './aws-mocks';
import { recordResources, type SimulatedResource } from './recorder';
import { resolveStackConfig, type ConfigOverrides } from './stack-config';

export type { SimulatedResource } from './recorder';
export { listStacks } from './stack-config';

// Runs the stack program (infra/index.ts) under Pulumi's mock runtime, with the config the CLI
// would give it: Pulumi.yaml defaults, the stack file, and placeholders for what an operator
// supplies (the SSH key, secrets). Used by `npm run plan` and by the infra tests; no cloud, no
// Pulumi CLI.

export interface SimulateOptions extends ConfigOverrides {
  /** Runs this instead of infra/index.ts, e.g. one component with arguments no config key sets. */
  program?: () => Promise<Record<string, unknown>> | Record<string, unknown>;
  /** Names of resources that get a new id, as after `pulumi up --replace` of them. */
  replaced?: string[];
}

export interface SimulatedCall {
  token: string;
  inputs: Record<string, unknown>;
  /** Provider reference the invoke went through; empty for the default provider. */
  provider: string;
}

export interface Simulation {
  stack: string;
  config: Record<string, string>;
  resources: SimulatedResource[];
  calls: SimulatedCall[];
  /** Stack outputs as the engine receives them; secrets stay wrapped. */
  outputs: Record<string, unknown>;
}

/** The program failed; `resources` are those declared before it did. */
export class SimulationError extends Error {
  constructor(
    cause: unknown,
    readonly resources: SimulatedResource[],
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'SimulationError';
  }
}

/** True for a value the engine would store encrypted. */
export function isSecretValue(value: unknown): value is { value: unknown } {
  return typeof value === 'object' && value !== null && (value as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig;
}

/** The value with every secret wrapper removed (for assertions, never for printing). */
export function reveal(value: unknown): unknown {
  if (isSecretValue(value)) return reveal(value.value);
  if (Array.isArray(value)) return value.map(reveal);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)]));
  return value;
}

// The runtime is process-global: one simulation at a time.
let running: Promise<unknown> = Promise.resolve();

/** Evaluates the whole stack program for `stack` under mocks and returns its resource graph. */
export function simulate(stack: string, options: SimulateOptions = {}): Promise<Simulation> {
  const run = running.then(() => simulateNow(stack, options));
  running = run.catch(() => undefined);
  return run;
}

async function simulateNow(stack: string, options: SimulateOptions): Promise<Simulation> {
  const { config, secretKeys } = resolveStackConfig(stack, options);
  const region = config['aws:region'] ?? 'us-east-1';
  pulumi.runtime.setAllConfig(config, secretKeys);
  const calls: SimulatedCall[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => ({
        id: args.custom ? `${args.name}-id${options.replaced?.includes(args.name) ? '-replacement' : ''}` : undefined,
        state: { ...args.inputs, ...mockState(args, region) },
      }),
      call: (args) => {
        calls.push({ token: args.token, inputs: args.inputs, provider: args.provider ?? '' });
        return mockCall(args, region);
      },
    },
    'clawdbot',
    stack,
  );
  const recording = recordResources();

  // The program's own error (bad config) is caught at the top, as the CLI's language host would
  // report it. A failure inside a resource's inputs surfaces as unhandled rejections of the
  // runtime's internal promises instead: collect those and mark them handled (the first is
  // rethrown below). Under jest, whose `process` is a sandbox, they reach jest instead.
  const failures: unknown[] = [];
  const onRejection = (reason: unknown, promise: Promise<unknown>) => {
    failures.push(reason);
    promise.catch(() => undefined);
  };
  process.on('unhandledRejection', onRejection);
  try {
    await pulumi.runtime.runInPulumiStack(async () => {
      try {
        return await (options.program ?? stackProgram)();
      } catch (error) {
        failures.unshift(error);
        return {};
      }
    });
  } finally {
    await pulumi.runtime.disconnect();
    await new Promise((resolve) => setImmediate(resolve));
    process.off('unhandledRejection', onRejection);
  }
  if (failures.length > 0) throw new SimulationError(failures[0], recording.resources);

  await recording.complete();
  const root = recording.resources.find((resource) => resource.parent === undefined);
  return { stack, config, resources: recording.resources, calls, outputs: root?.outputs ?? {} };
}
