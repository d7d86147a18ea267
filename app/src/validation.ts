import type { z } from 'zod';

/** A zod issue path as a field name a person reads: `messages[0].content`, `[2].answer`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, index) => (typeof key === 'number' ? `[${key}]` : index === 0 ? String(key) : `.${String(key)}`))
    .join('');
}

/** The first problem of a failed parse, as `{ field, message }`; an unknown key is the field. */
export function firstProblem(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0];
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
  return { field: fieldPath(path), message: issue.message };
}
