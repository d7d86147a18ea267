import { parse } from 'yaml';
import type { SimulatedResource, Simulation } from '../../infra/simulate';
import { reveal } from '../../infra/simulate';

// Queries over a simulated resource graph and the cloud-config it boots, for the infra tests.

export function ofType(simulation: Simulation, type: string): SimulatedResource[] {
  return simulation.resources.filter((resource) => resource.type === type);
}

/** The single resource of a type (optionally with a name); fails the test otherwise. */
export function only(simulation: Simulation, type: string, name?: string): SimulatedResource {
  const found = ofType(simulation, type).filter((resource) => name === undefined || resource.name === name);
  if (found.length !== 1) throw new Error(`expected one ${type}${name ? ` named ${name}` : ''}, found ${found.length}`);
  return found[0];
}

/** Inputs with secret wrappers removed. */
export function inputs(resource: SimulatedResource): Record<string, any> {
  return reveal(resource.inputs) as Record<string, any>;
}

/** The chain of parents, nearest first. */
export function ancestors(simulation: Simulation, resource: SimulatedResource): SimulatedResource[] {
  const byUrn = new Map(simulation.resources.map((r) => [r.urn, r]));
  const chain: SimulatedResource[] = [];
  for (let parent = resource.parent && byUrn.get(resource.parent); parent; parent = parent.parent && byUrn.get(parent.parent)) {
    chain.push(parent);
  }
  return chain;
}

/** The single resource with this name, of any type; fails the test otherwise. */
export function named(simulation: Simulation, name: string): SimulatedResource {
  const found = simulation.resources.filter((resource) => resource.name === name);
  if (found.length !== 1) throw new Error(`expected one resource named ${name}, found ${found.length}: ${simulation.resources.map((r) => r.name).join(', ')}`);
  return found[0];
}

/** Whether `from` waits for `to`: directly or through other resources, by dependsOn or by an input. */
export function waitsFor(simulation: Simulation, from: SimulatedResource, to: SimulatedResource): boolean {
  const byUrn = new Map(simulation.resources.map((r) => [r.urn, r]));
  const seen = new Set<string>();
  const visit = (resource: SimulatedResource): boolean =>
    resource.dependencies.some((urn) => {
      if (urn === to.urn) return true;
      if (seen.has(urn)) return false;
      seen.add(urn);
      const next = byUrn.get(urn);
      return next !== undefined && visit(next);
    });
  return visit(from);
}

/** Every string inside a value, secret or not. */
export function strings(value: unknown): string[] {
  const revealed = reveal(value);
  if (typeof revealed === 'string') return [revealed];
  if (Array.isArray(revealed)) return revealed.flatMap(strings);
  if (typeof revealed === 'object' && revealed !== null) return Object.values(revealed).flatMap(strings);
  return [];
}

/** The words of a bash array assignment `name=('a' 'b')` in a rendered script. */
export function bashArray(script: string, name: string): string[] {
  const match = new RegExp(`^${name}=\\((.*)\\)$`, 'm').exec(script);
  if (!match) throw new Error(`no array ${name} in the script`);
  return [...match[1].matchAll(/'([^']*)'/g)].map((word) => word[1]);
}

/** The parts of a cloud-config document the tests read. */
export interface CloudConfig {
  ssh_pwauth: boolean;
  disable_root: boolean;
  packages: string[];
  write_files: { path: string; permissions: string; content: string }[];
  runcmd: (string | string[])[];
}

export function parseCloudConfig(userData: string): CloudConfig {
  return parse(userData) as CloudConfig;
}

/** The cloud-config the stack's instance boots with. */
export function userDataOf(simulation: Simulation): CloudConfig {
  return parseCloudConfig(inputs(only(simulation, 'aws:ec2/instance:Instance')).userData);
}

/** The content of a file the cloud-config writes; fails the test when it writes none. */
export function writtenFile(config: CloudConfig, path: string): string {
  const file = config.write_files.find((f) => f.path === path);
  if (!file) throw new Error(`user data writes no ${path}`);
  return file.content;
}
