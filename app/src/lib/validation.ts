import { z } from 'zod';

/** A zod issue path as a field name a person reads: `messages[0].content`, `[2].answer`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, index) => (typeof key === 'number' ? `[${key}]` : index === 0 ? String(key) : `.${String(key)}`))
    .join('');
}

/**
 * The first problem of a failed parse: the field as a person reads it (an unknown key is the
 * field), its path, and what is wrong.
 */
export function firstProblem(error: z.ZodError): { field: string; path: readonly PropertyKey[]; message: string } {
  const issue = error.issues[0];
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
  return { field: fieldPath(path), path, message: issue.message };
}

/** For settings from the environment: an empty or blank value counts as unset. */
export const emptyAsUndefined = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);

/** An optional setting, trimmed; blank is unset. */
export const optionalString = z.preprocess(emptyAsUndefined, z.string().trim().optional());
