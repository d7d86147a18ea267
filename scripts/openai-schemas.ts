/**
 * Regenerates test/fixtures/openai-openapi/schemas.json, the part of OpenAI's published
 * OpenAPI spec (github.com/openai/openai-openapi) that the gateway's /v1 answers must match:
 * the response schemas below and every schema they reference. The spec is OpenAPI 3.1 but still
 * marks some fields with 3.0's `nullable: true`, which JSON Schema (and ajv) does not know:
 * those become `anyOf: [<the schema>, {type: 'null'}]`, which is what the keyword means.
 *
 *   npm run openapi:refresh -- <openapi.json|openapi.yaml> <commit> <commit date>
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

/** The schemas of every response shape the gateway produces. */
export const ROOT_SCHEMAS = [
  'CreateChatCompletionResponse',
  'CreateChatCompletionStreamResponse',
  'ListModelsResponse',
  'Model',
  'ErrorResponse',
];

const OUTPUT = path.resolve(__dirname, '../test/fixtures/openai-openapi/schemas.json');
const REF_PREFIX = '#/components/schemas/';

type Schemas = Record<string, unknown>;

/** Names of the component schemas `node` references, directly. */
function refsIn(node: unknown, found: Set<string>): void {
  if (Array.isArray(node)) node.forEach((item) => refsIn(item, found));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && value.startsWith(REF_PREFIX)) found.add(value.slice(REF_PREFIX.length));
      else refsIn(value, found);
    }
  }
}

/** A copy of `node` with every `nullable: true` schema written as JSON Schema. */
export function withoutNullable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutNullable);
  if (!node || typeof node !== 'object') return node;
  const converted = Object.fromEntries(Object.entries(node).map(([key, value]) => [key, withoutNullable(value)]));
  if (converted.nullable !== true) return converted;
  const { nullable: _, description, ...schema } = converted;
  return { ...(description === undefined ? {} : { description }), anyOf: [schema, { type: 'null' }] };
}

/** The roots and everything they reference, transitively. */
export function subset(schemas: Schemas, roots: string[]): Schemas {
  const picked: Schemas = {};
  const queue = [...roots];
  while (queue.length) {
    const name = queue.shift() as string;
    if (name in picked) continue;
    if (!(name in schemas)) throw new Error(`the spec has no schema ${name}`);
    picked[name] = schemas[name];
    const refs = new Set<string>();
    refsIn(schemas[name], refs);
    queue.push(...refs);
  }
  return Object.fromEntries(Object.keys(picked).sort().map((name) => [name, picked[name]]));
}

function main(): void {
  const [specFile, commit, date] = process.argv.slice(2);
  if (!specFile || !commit || !date) {
    console.error('usage: npm run openapi:refresh -- <openapi.json|openapi.yaml> <commit> <commit date>');
    process.exit(2);
  }
  const spec = parse(fs.readFileSync(specFile, 'utf8')) as { openapi: string; info: { version: string }; components: { schemas: Schemas } };
  const output = {
    source: { repo: 'https://github.com/openai/openai-openapi', file: path.basename(specFile), commit, date, openapi: spec.openapi, apiVersion: spec.info.version },
    components: { schemas: withoutNullable(subset(spec.components.schemas, ROOT_SCHEMAS)) },
  };
  fs.writeFileSync(OUTPUT, `${JSON.stringify(output, null, 2)}\n`);
  console.log(`${OUTPUT}: ${Object.keys(output.components.schemas as Schemas).length} schemas`);
}

if (require.main === module) main();
