/**
 * OpenAI's published response schemas (test/fixtures/openai-openapi/schemas.json, a subset of
 * github.com/openai/openai-openapi; `npm run openapi:refresh` regenerates it), compiled with ajv.
 *
 *   expect(specProblems('CreateChatCompletionResponse', body)).toEqual([]);
 */
import Ajv2020 from 'ajv/dist/2020';
import spec from '../fixtures/openai-openapi/schemas.json';

const SPEC_ID = 'https://github.com/openai/openai-openapi';

// Not strict: the spec carries its own annotations (x-oaiMeta, x-stainless-const ...).
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema({ $id: SPEC_ID, components: spec.components });

export type SpecSchema = keyof typeof spec.components.schemas;

/** Where `value` breaks the schema, one line per problem; empty when it conforms. */
export function specProblems(schema: SpecSchema, value: unknown): string[] {
  const validate = ajv.getSchema(`${SPEC_ID}#/components/schemas/${schema}`);
  if (!validate) throw new Error(`no schema ${schema}`);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => `${schema}${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}
