import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { SECRET_KEYS } from '../../infra/config/secret-keys';

// The README's config reference is Pulumi.yaml (and the secret keys of infra/config/secret-keys.ts) in a
// table: the same keys, types, defaults and descriptions, in the same order.

const ROOT = path.join(__dirname, '../..');
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const block = readme.slice(readme.indexOf('<!-- section: deployment -->'), readme.indexOf('<!-- /section: deployment -->'));

interface Declaration {
  type: string;
  items?: { type: string };
  default?: unknown;
  description: string;
}
const project = parse(readFileSync(path.join(ROOT, 'Pulumi.yaml'), 'utf8')) as { config: Record<string, Declaration> };

const code = (value: unknown) => `\`${value}\``;
const typeOf = (declaration: Declaration) => (declaration.type === 'array' ? `list of ${declaration.items!.type}s` : declaration.type);
const defaultOf = (declaration: Declaration) => {
  if (declaration.default === undefined) return 'required';
  if (declaration.default === '') return '(empty)';
  if (Array.isArray(declaration.default) && declaration.default.length === 0) return '(none)';
  return Array.isArray(declaration.default) ? declaration.default.map(code).join(', ') : code(declaration.default);
};

/** Table rows of the block whose first cell is a `key`. */
const rows = (header: string) => {
  const table = block.slice(block.indexOf(header));
  return table
    .split('\n')
    .slice(2)
    .filter((line, index, lines) => line.startsWith('| `') && lines.slice(0, index).every((previous) => previous.startsWith('|')));
};

describe('README config reference', () => {
  it('lists every Pulumi.yaml key with its type, default and description', () => {
    const expected = Object.entries(project.config).map(([key, declaration]) => `| ${code(key)} | ${typeOf(declaration)} | ${defaultOf(declaration)} | ${declaration.description} |`);
    expect(rows('| key | type | default | description |')).toEqual(expected);
  });

  it('lists every secret key with its description', () => {
    const expected = Object.entries(SECRET_KEYS).map(([key, { description }]) => `| ${code(key)} | ${description} |`);
    expect(rows('| key | description |')).toEqual(expected);
  });

  it('gives every declared key a description', () => {
    for (const [key, declaration] of Object.entries(project.config)) expect({ key, description: declaration.description?.length > 10 }).toEqual({ key, description: true });
  });
});

describe('README bootstrap', () => {
  it.each([
    'pulumi login --local',
    'pulumi stack init dev',
    'pulumi config set sshPublicKey',
    'pulumi config set --secret modelApiKey',
    'pulumi config set --secret sshPrivateKey',
    'git add Pulumi.dev.yaml Pulumi.prod.yaml',
    'pulumi up',
    'npm run plan -- dev',
  ])('shows `%s`', (command) => {
    expect(block).toContain(command);
  });
});
