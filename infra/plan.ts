import { stringify } from 'yaml';
import { abbreviateSteps } from '../components/scripts/render';
import { isSecretValue, listStacks, simulate, type SimulatedResource, type Simulation } from './simulate';

// `npm run plan -- <stack>`: the resource tree the stack program declares for <stack>, with its
// inputs (secrets redacted), computed under Pulumi's mocks from the committed config. Its jest
// snapshot (test/infra/__snapshots__/plan.test.ts.snap) makes every infra change visible in a
// pull request's diff, with no cloud credentials.

const REDACTED = '[secret]';

/**
 * Secrets become REDACTED; JSON documents (policies, dashboards) are shown as structure; the
 * deployment's steps as their parameters (their code is in components/scripts/).
 */
function presentable(value: unknown): unknown {
  if (isSecretValue(value)) return REDACTED;
  if (Array.isArray(value)) return value.map(presentable);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, inner]) => [key, presentable(inner)]),
    );
  }
  if (typeof value === 'string' && /^[{[]/.test(value)) {
    try {
      return presentable(JSON.parse(value));
    } catch {
      return value;
    }
  }
  return typeof value === 'string' ? abbreviateSteps(value) : value;
}

function flags(resource: SimulatedResource): string {
  const set = [
    resource.protect && 'protect',
    resource.retainOnDelete && 'retainOnDelete',
    resource.ignoreChanges.length > 0 && `ignoreChanges: ${resource.ignoreChanges.join(', ')}`,
  ].filter(Boolean);
  return set.length > 0 ? `  [${set.join('; ')}]` : '';
}

function block(text: string, prefix: string): string[] {
  return text
    .replace(/\n$/, '')
    .split('\n')
    .map((line) => `${prefix}${line}`.trimEnd());
}

/** The plan as text: a tree of `type name` lines, each followed by its inputs as YAML. */
export function renderPlan(simulation: Simulation): string {
  const children = new Map<string | undefined, SimulatedResource[]>();
  for (const resource of simulation.resources) {
    children.set(resource.parent, [...(children.get(resource.parent) ?? []), resource]);
  }
  const lines: string[] = [
    `# stack ${simulation.stack}: ${simulation.resources.filter((r) => r.custom).length} resources in ${simulation.config['aws:region']}`,
    '',
  ];

  const walk = (resource: SimulatedResource, indent: string, last: boolean, root: boolean) => {
    const branch = root ? '' : last ? '└─ ' : '├─ ';
    lines.push(`${indent}${branch}${resource.type} ${resource.name}${flags(resource)}`);
    const inner = root ? '' : indent + (last ? '   ' : '│  ');
    const kids = [...(children.get(resource.urn) ?? [])].sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
    const inputs = presentable(resource.inputs) as Record<string, unknown>;
    if (resource.custom && Object.keys(inputs).length > 0) {
      lines.push(...block(stringify(inputs, { lineWidth: 0 }), `${inner}${kids.length > 0 ? '│' : ' '}    `));
    }
    kids.forEach((kid, index) => walk(kid, inner, index === kids.length - 1, false));
  };
  for (const root of children.get(undefined) ?? []) walk(root, '', true, true);

  lines.push('', '# outputs', ...block(stringify(presentable(simulation.outputs), { lineWidth: 0 }), ''));
  return `${lines.join('\n')}\n`;
}

if (require.main === module) {
  const stack = process.argv[2];
  if (!stack) {
    console.error(`usage: npm run plan -- <stack>   (the stacks are ${listStacks().join(', ')})`);
    process.exit(2);
  }
  simulate(stack)
    .then((simulation) => process.stdout.write(renderPlan(simulation)))
    .catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    });
}
