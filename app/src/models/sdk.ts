import type { z } from 'zod';
import { ClientClosedRequest, InputError } from '../lib/errors';
import { Deadline, withDeadline } from '../lib/deadline';
import { firstProblem } from '../lib/validation';
import { ModelError, type AnswerEnding, type FinishReason, type ModelDescriptor, type ModelStream, type TokenUsage } from './types';

/** Retries of a failed call (429, 5xx, connection errors), with the SDKs' backoff. */
export const MODEL_MAX_RETRIES = 2;

/** The error classes both official SDKs (openai, @anthropic-ai/sdk) export. */
export interface SdkErrors {
  APIError: abstract new (...args: never[]) => Error & { status?: number };
}

/**
 * Provider statuses that refuse the request itself (context too long, a picture URL it cannot
 * fetch, a parameter out of range): the client's to fix, so a 400, not a 5xx. 401, 403 and
 * 404 stay 502: they mean our key, account or model name is wrong, which no client can fix.
 */
const REFUSED_REQUEST_STATUSES = new Set([400, 413, 422]);

// OpenAI-style providers name the problem (`context_length_exceeded`); pass a plain name on.
const PROVIDER_ERROR_CODE = /^[a-z][a-z0-9_]{0,63}$/;

// MODEL_TIMEOUT_SECONDS is one Deadline for a call, retries and backoff included; for a stream,
// the budget until it opens and then for every gap between chunks. Our own timer (rather than
// the SDK's) tells a timeout apart from the client going away.

/**
 * Turns an SDK failure into a ModelError (502, or 504 when the deadline expired) that clients
 * see as a clean error body, or an InputError (400) when the provider refused the request as
 * malformed; the client going away becomes ClientClosedRequest. The key is scrubbed from the
 * message in case a provider echoes it.
 */
const describeModel = (model: ModelDescriptor) => `${model.provider} model ${model.name}`;

export function toModelError(error: unknown, deadline: Deadline, sdk: SdkErrors, model: ModelDescriptor, apiKey: string): unknown {
  const who = describeModel(model);
  if (deadline.expired) return new ModelError(`${who} did not answer in time`, 504, 'model_timeout');
  if (error instanceof ModelError) return error;
  if (deadline.signal.aborted) return new ClientClosedRequest();
  const scrub = (text: string) => (apiKey ? text.split(apiKey).join('[redacted]') : text);
  if (error instanceof sdk.APIError) {
    if (error.status && REFUSED_REQUEST_STATUSES.has(error.status)) {
      const code = (error as { code?: unknown }).code;
      const providerCode = typeof code === 'string' && PROVIDER_ERROR_CODE.test(code) ? code : 'invalid_request';
      return new InputError(`${who} refused the request (HTTP ${error.status}): ${scrub(error.message)}`, undefined, providerCode);
    }
    if (!error.status) {
      // A connection error: the SDK's message is only "Connection error."; say where and why.
      const where = model.endpoint ? ` at ${model.endpoint}` : '';
      return new ModelError(`${who}${where} cannot be reached (${rootCause(error)})`, 502, 'model_unavailable');
    }
    return new ModelError(`${who} failed (HTTP ${error.status}): ${scrub(error.message)}`, 502, 'model_unavailable');
  }
  return new ModelError(`${who} failed: ${scrub(String((error as Error)?.message ?? error))}`, 502, 'model_unavailable');
}

type Cause = { cause?: unknown; code?: unknown; message?: unknown };

/** The innermost cause's code (ECONNREFUSED, ENOTFOUND...) or message: fetch wraps it twice. */
function rootCause(error: Error): string {
  // Duck-typed: the causes come from Node's fetch, whose Error class need not be this realm's.
  let inner = error as Cause;
  while (typeof inner.cause === 'object' && inner.cause !== null) inner = inner.cause as Cause;
  return String(inner.code ?? inner.message);
}

/**
 * Checks what a provider answered (a completion, or one stream chunk) against the fields the
 * adapter reads: the SDKs type their answers but do not check them, and an endpoint that
 * answers 200 with another shape must be a 502 naming the provider, not a TypeError.
 */
export function parseAnswer<Schema extends z.ZodType>(schema: Schema, answer: unknown, model: ModelDescriptor): z.infer<Schema> {
  const parsed = schema.safeParse(answer);
  if (parsed.success) return parsed.data;
  const { field, message } = firstProblem(parsed.error);
  throw new ModelError(`${describeModel(model)} answered with a malformed response: ${field || 'body'}: ${message}`, 502, 'model_invalid_response');
}

/** A call's deadline-bound SDK request; failures come out as ModelErrors. */
export async function callWithDeadline<T>(
  timeoutMs: number,
  callerSignal: AbortSignal | undefined,
  call: (signal: AbortSignal) => Promise<T>,
  fail: (error: unknown, deadline: Deadline) => unknown,
): Promise<T> {
  return withDeadline(timeoutMs, callerSignal, async (deadline) => {
    try {
      return await call(deadline.signal);
    } catch (error) {
      throw fail(error, deadline);
    }
  });
}

/** A piece of a tool call: the first piece of call `index` has its id and name, the rest argument text. */
export interface ToolCallPiece {
  index: number;
  id?: string;
  name?: string;
  arguments?: string;
}

/** What one chunk of a provider's stream carries: text, tool call pieces, usage counts (whole or in part), why it ended. */
export interface StreamChunk {
  text?: string;
  toolCalls?: ToolCallPiece[];
  usage?: Partial<TokenUsage>;
  finishReason?: FinishReason;
}

/**
 * Reads a provider's stream under a Deadline, yielding the text the chunks carry; returns how the
 * answer ended: the tool calls assembled from their pieces, the usage when the chunks
 * reported both counts.
 */
export async function* readStream<Chunk>(
  timeoutMs: number,
  callerSignal: AbortSignal | undefined,
  open: (signal: AbortSignal) => Promise<AsyncIterable<Chunk>>,
  read: (chunk: Chunk) => StreamChunk,
  fail: (error: unknown, deadline: Deadline) => unknown,
): ModelStream {
  const deadline = new Deadline(timeoutMs, callerSignal);
  const usage: Partial<TokenUsage> = {};
  const toolCalls = new Map<number, { id: string; name: string; arguments: string }>();
  let finishReason: FinishReason = 'stop';
  let complete = false;
  try {
    const stream = await open(deadline.signal);
    for await (const chunk of stream) {
      deadline.restart();
      const { text, toolCalls: pieces, usage: counts, finishReason: reason } = read(chunk);
      if (counts) Object.assign(usage, counts);
      if (reason) finishReason = reason;
      if (pieces) for (const piece of pieces) {
        const call = toolCalls.get(piece.index) ?? { id: '', name: '', arguments: '' };
        toolCalls.set(piece.index, { id: piece.id ?? call.id, name: piece.name ?? call.name, arguments: call.arguments + (piece.arguments ?? '') });
      }
      if (text) yield text;
    }
    // An aborted stream can end quietly (the SDKs' own streams do): after our deadline that is a
    // timeout, after the client left it is not a complete answer either.
    if (deadline.signal.aborted) throw new Error('stream aborted');
    const { promptTokens, completionTokens } = usage;
    const ending: AnswerEnding = { finishReason };
    if (toolCalls.size) ending.toolCalls = [...toolCalls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call);
    if (promptTokens !== undefined && completionTokens !== undefined) ending.usage = { promptTokens, completionTokens };
    complete = true;
    return ending;
  } catch (error) {
    throw fail(error, deadline);
  } finally {
    // A consumer that stopped early (the client left) ends the provider's request as well.
    if (!complete) deadline.cancel();
    deadline.stop();
  }
}
