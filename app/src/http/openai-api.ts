import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { ROUTES } from '../contract';
import type { GatewayDeps } from '../deps';
import { InputError } from '../lib/errors';
import type { AnswerEnding, ChatMessage, Sampling, TokenUsage, ToolCall, Tools } from '../models/types';
import { parseBody } from './errors';
import { ClientDisconnect, sendEventStream } from './sse';

/** An optional field; null means unset, as in OpenAI's API. */
const unsetIfNull = <Schema extends z.ZodType>(schema: Schema) => schema.nullish().transform((value) => value ?? undefined);

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const contentPart = z.discriminatedUnion('type', [
  textPart,
  z.object({ type: z.literal('image_url'), image_url: z.object({ url: z.string().min(1), detail: z.string().optional() }) }),
]);
const textContent = z.union([z.string(), z.array(textPart).min(1)], { error: 'must be a string or a non-empty array of text parts' });

const toolCall = z.object({
  id: z.string().min(1),
  type: z.literal('function'),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

// Each role's fields, as OpenAI defines them; `name` and other per-message extras are dropped.
const message = z.discriminatedUnion('role', [
  z.object({ role: z.enum(['system', 'developer']), content: textContent }),
  z.object({
    role: z.literal('user'),
    content: z.union([z.string(), z.array(contentPart).min(1)], { error: 'must be a string or a non-empty array of text and image_url parts' }),
  }),
  z
    .object({
      role: z.literal('assistant'),
      // An assistant turn that called tools may have no text.
      content: unsetIfNull(textContent),
      tool_calls: unsetIfNull(z.array(toolCall).min(1)),
    })
    .refine((m) => m.content !== undefined || m.tool_calls !== undefined, { message: 'needs content or tool_calls', path: ['content'] }),
  z.object({ role: z.literal('tool'), tool_call_id: z.string().min(1), content: textContent }),
]);

const tool = z.strictObject({
  type: z.literal('function', { error: 'only function tools are supported' }),
  function: z.strictObject({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, underscores or dashes'),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: unsetIfNull(z.boolean()),
  }),
});

const toolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.strictObject({ type: z.literal('function'), function: z.strictObject({ name: z.string().min(1) }) }),
], { error: 'must be "none", "auto", "required" or {"type":"function","function":{"name"}}' });

/**
 * OpenAI's API takes null as "not set" for every optional field. At the top level such fields
 * are dropped before validation, so that each has a plain optional schema: a null-to-undefined
 * transform on each of its 23 optional fields made validating `{"messages":[...]}` cost 5 µs
 * instead of 2 µs, for fields a request rarely sends.
 */
function withoutNulls(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  // Most requests send no null: they keep their body, with no copy made.
  if (!Object.values(body).includes(null)) return body;
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== null));
}

/**
 * The Chat Completions fields the gateway honours, passes on or safely ignores (docs/clients.md
 * has the table). Any other field (n > 1, a JSON response_format, logprobs, non-empty logit_bias
 * ...) is refused with a 400 naming it: silently ignoring it would hand the client an answer to
 * a different request.
 */
const completionRequest = z
  .strictObject(
    {
      /** Accepted for compatibility; the gateway answers with its current model. */
      model: z.string().optional(),
      messages: z.array(message).min(1),
      stream: z.boolean().optional(),
      // include_obfuscation pads chunks against side channels on OpenAI's network; nothing to pad here.
      stream_options: z.strictObject({ include_usage: z.boolean().optional(), include_obfuscation: z.boolean().optional() }).optional(),
      max_tokens: z.number().int().positive().optional(),
      max_completion_tokens: z.number().int().positive().optional(),
      temperature: z.number().min(0).max(2).optional(),
      top_p: z.number().min(0).max(1).optional(),
      stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).optional(),
      presence_penalty: z.number().min(-2).max(2).optional(),
      frequency_penalty: z.number().min(-2).max(2).optional(),
      seed: z.number().int().optional(),
      n: z.literal(1, { error: 'only one choice (n: 1) is supported' }).optional(),
      response_format: z.strictObject({ type: z.literal('text', { error: 'only text answers are supported' }) }).optional(),
      tools: z.array(tool).min(1).max(128).optional(),
      tool_choice: toolChoice.optional(),
      parallel_tool_calls: z.boolean().optional(),
      // Accepted, not used: what they ask for is the operator's to decide (storing answers at
      // the provider, a paid service tier on the operator's account) or a no-op here.
      logprobs: z.literal(false, { error: 'log probabilities are not supported' }).optional(),
      logit_bias: z.record(z.string(), z.number()).refine((bias) => Object.keys(bias).length === 0, 'token biases are not supported (token ids differ between models)').optional(),
      store: z.boolean().optional(),
      metadata: z.record(z.string(), z.string()).optional(),
      service_tier: z.string().optional(),
      prompt_cache_key: z.string().optional(),
      /** The end user, passed on to the provider for its abuse monitoring. */
      user: z.string().optional(),
      safety_identifier: z.string().optional(),
    },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? 'not supported by this gateway' : undefined) },
  )
  .refine((body) => body.tools !== undefined || body.tool_choice === undefined, { message: 'needs tools', path: ['tool_choice'] });

type CompletionBody = z.infer<typeof completionRequest>;

const usageBody = (usage: TokenUsage) => ({
  prompt_tokens: usage.promptTokens,
  completion_tokens: usage.completionTokens,
  total_tokens: usage.promptTokens + usage.completionTokens,
});

function samplingOf(body: CompletionBody): Sampling | undefined {
  const { top_p: topP, stop, presence_penalty: presencePenalty, frequency_penalty: frequencyPenalty, seed } = body;
  // Most requests set none of them, and get no object.
  if (topP === undefined && stop === undefined && presencePenalty === undefined && frequencyPenalty === undefined && seed === undefined) return undefined;
  return { topP, stop: typeof stop === 'string' ? [stop] : stop, presencePenalty, frequencyPenalty, seed };
}

function toolsOf(body: CompletionBody): Tools | undefined {
  if (!body.tools) return undefined;
  const choice = body.tool_choice;
  return {
    definitions: body.tools.map(({ function: f }) => ({ name: f.name, description: f.description, parameters: f.parameters, strict: f.strict })),
    ...(choice !== undefined ? { choice: typeof choice === 'string' ? choice : { name: choice.function.name } } : {}),
    ...(body.parallel_tool_calls !== undefined ? { parallel: body.parallel_tool_calls } : {}),
  };
}

const textOfParts = (content: string | Array<{ text: string }>) => (typeof content === 'string' ? content : content.map((part) => part.text).join(''));

function toChatMessage(m: CompletionBody['messages'][number]): ChatMessage {
  switch (m.role) {
    case 'system':
    case 'developer':
      return { role: 'system', content: textOfParts(m.content) };
    case 'tool':
      return { role: 'tool', toolCallId: m.tool_call_id, content: textOfParts(m.content) };
    case 'assistant': {
      const toolCalls = m.tool_calls?.map((call) => ({ id: call.id, name: call.function.name, arguments: call.function.arguments }));
      return { role: 'assistant', content: m.content === undefined ? '' : textOfParts(m.content), ...(toolCalls ? { toolCalls } : {}) };
    }
    case 'user':
      return {
        role: 'user',
        content: typeof m.content === 'string'
          ? m.content
          : m.content.map((part) => (part.type === 'text' ? { type: 'text', text: part.text } : { type: 'image', url: part.image_url.url })),
      };
  }
}

const toolCallsBody = (calls: ToolCall[]) =>
  calls.map((call, index) => ({ index, id: call.id, type: 'function' as const, function: { name: call.name, arguments: call.arguments } }));

/** The assistant message of a plain answer: tool calls, when there are some, with `content: null` if there is no text. */
function messageBody(text: string, ending: AnswerEnding) {
  if (!ending.toolCalls?.length) return { role: 'assistant', content: text, refusal: null };
  return { role: 'assistant', content: text || null, refusal: null, tool_calls: toolCallsBody(ending.toolCalls).map(({ index: _, ...call }) => call) };
}

// Held where a streamed chunk's text goes while the chunk's fixed JSON is made (see nextDeltaJson).
const TEXT_PLACEHOLDER = '\u0000text\u0000';
const TEXT_PLACEHOLDER_JSON = JSON.stringify(TEXT_PLACEHOLDER);

const epochSeconds = (iso?: string) => Math.floor((iso ? Date.parse(iso) : Date.now()) / 1000);
const startedAt = new Date().toISOString();

/** The OpenAI-compatible API: /v1/chat/completions (plain and SSE), /v1/models and /v1/models/{id}. */
export const openaiApiPlugin: FastifyPluginAsync<GatewayDeps> = async (app, { chat, models }) => {
  const currentModel = () => {
    const { model, switchedAt } = models.status();
    return { id: model.name, object: 'model', owned_by: model.provider, created: epochSeconds(switchedAt ?? startedAt) };
  };

  app.get(ROUTES.models, async () => ({ object: 'list', data: [currentModel()] }));

  app.get<{ Params: { model: string } }>(`${ROUTES.models}/:model`, async (request) => {
    const model = currentModel();
    if (request.params.model !== model.id) {
      throw new InputError(`model: ${request.params.model} is not served here; the gateway answers with ${model.id}`, 'model', 'model_not_found', 404);
    }
    return model;
  });

  app.post(ROUTES.chatCompletions, async (request, reply) => {
    const body = parseBody(completionRequest, withoutNulls(request.body));
    const messages = body.messages.map(toChatMessage);
    const disconnect = new ClientDisconnect(reply);
    const includeUsage = body.stream === true && body.stream_options?.include_usage === true;
    const endUser = body.safety_identifier ?? body.user;
    const tools = toolsOf(body);
    const options = {
      streamUsage: includeUsage,
      maxTokens: body.max_completion_tokens ?? body.max_tokens,
      temperature: body.temperature,
      sampling: samplingOf(body),
      ...(tools ? { tools } : {}),
      ...(endUser ? { endUser } : {}),
      // A getter: only a model call reads it (see ClientDisconnect).
      get signal() {
        return disconnect.signal;
      },
    };
    // The request's id (x-request-id, access.log's reqId) is unique already: a second random id
    // per completion would cost as much and tie the answer to nothing.
    const id = `chatcmpl-${request.id}`;
    const created = epochSeconds();

    if (!body.stream) {
      const answer = await chat.complete(messages, options);
      return {
        id,
        object: 'chat.completion',
        created,
        model: answer.model.name,
        choices: [{ index: 0, message: messageBody(answer.text, answer), logprobs: null, finish_reason: answer.finishReason }],
        ...(answer.usage ? { usage: usageBody(answer.usage) } : {}),
      };
    }

    const stream = chat.completeStream(messages, options);
    // With include_usage, as OpenAI does: `usage: null` on every chunk, then one chunk without
    // choices that has it (zeros for rules and cached answers, which ask no model; null only
    // when the provider did not report it).
    const chunk = (choices: unknown[], usage?: TokenUsage) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: stream.model.name,
      choices,
      ...(includeUsage ? { usage: usage ? usageBody(usage) : null } : {}),
    });
    const choice = (delta: Record<string, unknown>, finishReason: AnswerEnding['finishReason'] | null) => [{ index: 0, delta, logprobs: null, finish_reason: finishReason }];
    let started = false;
    const firstDelta = (delta: Record<string, unknown>) => {
      const opening = started ? delta : { role: 'assistant', ...delta };
      started = true;
      return opening;
    };
    // The chunks after the first differ only in their text: JSON.stringify makes their JSON once,
    // around a placeholder, and each token's chunk is the two halves around its text's JSON
    // (a chunk object and its serialization per token were the most the handler allocated).
    let halves: [string, string] | undefined;
    const nextDeltaJson = (text: string) => {
      if (!halves) {
        const whole = JSON.stringify(chunk(choice({ content: TEXT_PLACEHOLDER }, null)));
        const at = whole.lastIndexOf(TEXT_PLACEHOLDER_JSON);
        halves = [whole.slice(0, at), whole.slice(at + TEXT_PLACEHOLDER_JSON.length)];
      }
      return halves[0] + JSON.stringify(text) + halves[1];
    };
    return sendEventStream(reply, stream, {
      delta: (text) => (started ? nextDeltaJson(text) : JSON.stringify(chunk(choice(firstDelta({ content: text }), null)))),
      end: () => {
        const ending = stream.ending ?? { finishReason: 'stop' };
        // Tool calls arrive whole from the models' streams: all in one delta, each with its index.
        const toolCalls = (ending.toolCalls ?? []).length ? [chunk(choice(firstDelta({ tool_calls: toolCallsBody(ending.toolCalls ?? []) }), null))] : [];
        return [...toolCalls, chunk(choice({}, ending.finishReason)), ...(includeUsage ? [chunk([], ending.usage)] : [])];
      },
    });
  });
};
