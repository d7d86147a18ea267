import * as pulumi from '@pulumi/pulumi';

// Records what the engine would learn about each resource of a simulation, by wrapping the mock
// runtime's monitor.

export interface SimulatedResource {
  urn: string;
  type: string;
  name: string;
  /** URN of the parent; undefined only for the stack itself. */
  parent?: string;
  /** Provider reference (`<urn>::<id>`) of a custom resource. */
  provider?: string;
  /** URNs of the resources it waits for: dependsOn and those its inputs come from. */
  dependencies: string[];
  custom: boolean;
  protect: boolean;
  retainOnDelete: boolean;
  deleteBeforeReplace: boolean;
  ignoreChanges: string[];
  additionalSecretOutputs: string[];
  /** Only the operations given a timeout. */
  customTimeouts: { create?: string; update?: string; delete?: string };
  /** URN of the resource whose deletion makes this one's unnecessary. */
  deletedWith?: string;
  /** Inputs as the engine receives them; secrets stay wrapped (see isSecretValue). */
  inputs: Record<string, unknown>;
  /** What a component passed to registerOutputs; secrets stay wrapped. */
  outputs: Record<string, unknown>;
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getProvider(): string;
  getDependenciesList(): string[];
  getCustom(): boolean;
  getProtect(): boolean;
  getRetainondelete(): boolean;
  getDeletebeforereplace(): boolean;
  getIgnorechangesList(): string[];
  getAdditionalsecretoutputsList(): string[];
  getCustomtimeouts(): { getCreate(): string; getUpdate(): string; getDelete(): string } | undefined;
  getDeletedwith(): string;
  getObject(): Parameters<typeof pulumi.runtime.deserializeProperties>[0];
}
type Callback = (error: unknown, response?: { getUrn(): string }) => void;
interface RecordingMonitor {
  registerResource(request: RegisterRequest, callback: Callback): Promise<void>;
  /** The mock monitor keeps each resource's last state; for components, what registerOutputs sent. */
  resources: Map<string, { urn: string; state: unknown }>;
}

/** The value with its promises awaited: the SDK deserializes an asset's path as one. */
async function settled(value: unknown): Promise<unknown> {
  if (value instanceof Promise) return settled(await value);
  if (Array.isArray(value)) return Promise.all(value.map(settled));
  if (typeof value === 'object' && value !== null) {
    const entries = await Promise.all(Object.entries(value).map(async ([key, inner]) => [key, await settled(inner)] as const));
    return Object.assign(Object.create(Object.getPrototypeOf(value) as object | null) as object, Object.fromEntries(entries));
  }
  return value;
}

function customTimeouts(request: RegisterRequest): SimulatedResource['customTimeouts'] {
  const timeouts = request.getCustomtimeouts();
  const set = { create: timeouts?.getCreate(), update: timeouts?.getUpdate(), delete: timeouts?.getDelete() };
  return Object.fromEntries(Object.entries(set).filter(([, value]) => value));
}

/** registerOutputs hands the monitor a protobuf Struct; resource registration a plain object. */
function plainState(state: unknown): Record<string, unknown> {
  if (typeof state === 'object' && state !== null && typeof (state as { toJavaScript?: unknown }).toJavaScript === 'function') {
    return (state as { toJavaScript(): Record<string, unknown> }).toJavaScript();
  }
  return (state ?? {}) as Record<string, unknown>;
}

/** Starts recording every resource registered from now on in the current runtime. */
export function recordResources(): { resources: SimulatedResource[]; complete(): Promise<void> } {
  const resources: SimulatedResource[] = [];
  const monitor = pulumi.runtime.getMonitor() as unknown as RecordingMonitor;
  const registerResource = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request, callback) =>
    registerResource(request, (error, response) => {
      if (!error && response) {
        resources.push({
          urn: response.getUrn(),
          type: request.getType(),
          name: request.getName(),
          parent: request.getParent() || undefined,
          provider: request.getProvider() || undefined,
          dependencies: request.getDependenciesList(),
          custom: request.getCustom(),
          protect: request.getProtect(),
          retainOnDelete: request.getRetainondelete(),
          deleteBeforeReplace: request.getDeletebeforereplace(),
          ignoreChanges: request.getIgnorechangesList(),
          additionalSecretOutputs: request.getAdditionalsecretoutputsList(),
          customTimeouts: customTimeouts(request),
          deletedWith: request.getDeletedwith() || undefined,
          inputs: pulumi.runtime.deserializeProperties(request.getObject()),
          outputs: {},
        });
      }
      callback(error, response);
    });

  /** Once the program has run: inputs settled, and each component's registered outputs. */
  async function complete(): Promise<void> {
    for (const resource of resources) {
      resource.inputs = (await settled(resource.inputs)) as Record<string, unknown>;
      if (!resource.custom) resource.outputs = plainState(monitor.resources.get(resource.urn)?.state);
    }
  }
  return { resources, complete };
}
