import { ModelError, NO_TOKENS, tap, textOf, usesTools, type AnswerEnding, type ChatMessage, type ChatModel, type CompletionRequest, type ModelStream, type ToolCall } from '../models/types';
import type { ActiveSessions } from './active-sessions';
import type { ConversationLog, ExchangeRecord } from './conversation-log';
import { checkMessageSize, trimHistory, type MessageLimits } from './limits';
import type { ResponseCache } from './response-cache';
import { hasImages, lastUserMessage, modelOf, route, type Plan, type RoutingOptions } from './routing';
import type { ChatService, CompletionAnswer, CompletionOptions, TextStream, Turn, TurnReply } from './service';
import { sessionKey, type SessionHistory, type SessionRef } from './sessions';

export interface ConversationServiceOptions extends RoutingOptions {
  sessions: SessionHistory;
  cache: ResponseCache;
  conversationLog: ConversationLog;
  activeSessions: ActiveSessions;
  /** MAX_TOKENS: the answer length when the client sets none, and the most it may ask for. Unset: the client's, or the provider's default. */
  maxTokens?: number;
  /** TEMPERATURE: the temperature when the client sets none. Unset: the provider's default. */
  temperature?: number;
  limits: MessageLimits;
}

type Source = ExchangeRecord['source'];

/** What the conversation log records of a turn; stateless completions have no session. */
type LoggedTurn = Pick<Turn, 'channel'> & Partial<Pick<Turn, 'sessionId' | 'principal'>>;

interface Answer extends CompletionAnswer {
  source: Source;
}

/** Who answers a streamed turn: a whole text (rules, cache), or a model's deltas and what follows their end. */
type StreamSource = { text: string } | { deltas: ModelStream; completed: (ending: AnswerEnding) => Promise<void> };

/** What the conversation log records for a stream whose client went away before its end. */
const CLIENT_LEFT = 'client disconnected';

/** How an answer no provider was asked for ends (rules, cache): a whole answer, no tokens. */
const NO_MODEL_CALL: AnswerEnding = { finishReason: 'stop', usage: NO_TOKENS };

function describeUserText(message: ChatMessage | undefined): string {
  if (!message) return '';
  return hasImages(message) ? `${textOf(message.content)} [image]`.trim() : textOf(message.content);
}

/**
 * A model's answer with neither text nor tool calls is a failed call (502), so that nothing
 * empty is cached, stored in a session or sent as a reply. The adapters check the answer's
 * shape; this checks that it says or asks for something, which only matters for answers to
 * people (the switch's one-token check call may well come back empty).
 */
function requireAnswer(text: string, toolCalls: ToolCall[] | undefined, model: ChatModel): void {
  if (text.trim() === '' && !toolCalls?.length) {
    const { provider, name } = model.descriptor;
    throw new ModelError(`${provider} model ${name} answered with no text`, 502, 'model_invalid_response');
  }
}

/**
 * The ChatService behind every entry point: hybrid routing (routing.ts), the response cache,
 * session history, and the conversation log.
 */
export class ConversationService implements ChatService {
  constructor(private readonly options: ConversationServiceOptions) {}

  async reply(turn: Turn): Promise<TurnReply> {
    const user = this.userMessage(turn);
    const plan = route([user], undefined, this.options);
    const startedAt = performance.now();
    try {
      const history = await this.options.sessions.load(turn);
      const answer = await this.answer(plan, [...history, user], lazySignal(turn));
      await this.remember(turn, user, answer.text);
      await this.log(turn, user, answer, startedAt);
      return { sessionId: turn.sessionId, reply: answer.text, model: answer.model };
    } catch (error) {
      await this.log(turn, user, unanswered(plan), startedAt, error);
      throw error;
    }
  }

  replyStream(turn: Turn): TextStream {
    const user = this.userMessage(turn);
    return this.streamAnswer(route([user], undefined, this.options), turn, user, {
      conversation: async () => [...(await this.options.sessions.load(turn)), user],
      options: lazySignal(turn),
      finish: (text) => this.remember(turn, user, text),
    });
  }

  logNotice(turn: Omit<Turn, 'signal'>, reply: string): Promise<void> {
    const answer: Answer = { text: reply, model: this.options.models.current().descriptor, source: 'gateway', ...NO_MODEL_CALL };
    return this.log(turn, { role: 'user', content: turn.message }, answer, performance.now());
  }

  async complete(messages: ChatMessage[], options: CompletionOptions = {}): Promise<Answer> {
    this.checkSizes(messages);
    const plan = route(messages, options.tools, this.options);
    const startedAt = performance.now();
    const last = lastUserMessage(messages);
    try {
      const answer = await this.answer(plan, messages, options);
      await this.log({ channel: 'api' }, last, answer, startedAt);
      return answer;
    } catch (error) {
      await this.log({ channel: 'api' }, last, unanswered(plan), startedAt, error);
      throw error;
    }
  }

  completeStream(messages: ChatMessage[], options: CompletionOptions = {}): TextStream {
    this.checkSizes(messages);
    return this.streamAnswer(route(messages, options.tools, this.options), { channel: 'api' }, lastUserMessage(messages), {
      conversation: async () => messages,
      options,
      finish: async () => undefined,
    });
  }

  private userMessage(turn: Turn): ChatMessage {
    const user: ChatMessage = { role: 'user', content: turn.message };
    checkMessageSize(user, this.options.limits.maxMessageChars, 'message');
    return user;
  }

  /** Each message of a stateless completion, named as the OpenAI API names it. */
  private checkSizes(messages: ChatMessage[]): void {
    messages.forEach((message, index) => checkMessageSize(message, this.options.limits.maxMessageChars, `messages[${index}].content`));
  }

  /**
   * The streaming side of reply() and complete(): yields the deltas, runs `finish` with the
   * whole text once the stream completed, and logs the exchange however it ended (an
   * abandoned stream ends at a `yield` and is logged as a disconnect).
   */
  private streamAnswer(
    plan: Plan,
    turn: LoggedTurn,
    user: ChatMessage | undefined,
    steps: { conversation: () => Promise<ChatMessage[]>; options: CompletionOptions; finish: (text: string) => Promise<void> },
  ): TextStream {
    const service = this;
    const stream: TextStream & { ending?: AnswerEnding } = Object.assign(run(), { model: modelOf(plan) });
    async function* run(): AsyncGenerator<string> {
      const startedAt = performance.now();
      const answer: Answer = unanswered(plan);
      // Until the stream completes or fails, its end is a client that left (an abandoned stream
      // ends at a `yield`). A message, not an Error: that would capture a stack for every stream.
      let failure: unknown = CLIENT_LEFT;
      try {
        const source = await service.streamSource(plan, await steps.conversation(), steps.options, answer);
        if ('text' in source) yield source.text;
        else await source.completed(yield* source.deltas);
        const { finishReason, toolCalls, usage } = answer;
        stream.ending = { finishReason, ...(toolCalls ? { toolCalls } : {}), ...(usage ? { usage } : {}) };
        await steps.finish(answer.text);
        failure = undefined;
      } catch (error) {
        failure = error;
        throw error;
      } finally {
        await service.log(turn, user, answer, startedAt, failure);
      }
    }
    return stream;
  }

  private request(messages: ChatMessage[], options: CompletionOptions): CompletionRequest {
    const { maxTokens: limit, temperature: operatorTemperature } = this.options;
    const asked = options.maxTokens ?? limit;
    const maxTokens = asked !== undefined && limit !== undefined ? Math.min(asked, limit) : asked;
    const temperature = options.temperature ?? operatorTemperature;
    return {
      messages: trimHistory(messages, this.options.limits.maxHistoryChars),
      ...(maxTokens !== undefined ? { maxTokens } : {}),
      ...(temperature !== undefined ? { temperature } : {}),
      ...(options.sampling ? { sampling: options.sampling } : {}),
      ...(options.tools ? { tools: options.tools } : {}),
      ...(options.endUser ? { endUser: options.endUser } : {}),
      ...(options.streamUsage ? { streamUsage: true } : {}),
      // Read on use only: reading it makes the request's AbortController (see ClientDisconnect).
      get signal() {
        return options.signal;
      },
    };
  }

  /**
   * The cache key, or undefined when the answer must not be cached: rules (the time changes),
   * and tool conversations (the cache keeps text, not tool calls, and tool results are live).
   */
  private cacheKey(model: ChatModel, request: CompletionRequest): string | undefined {
    const { cache } = this.options;
    if (!cache.enabled || model.descriptor.provider === 'rules' || usesTools(request.messages, request.tools)) return undefined;
    return cache.key({ model: model.descriptor, ...request });
  }

  private async answer(plan: Plan, messages: ChatMessage[], options: CompletionOptions): Promise<Answer> {
    if (plan.source === 'rules') return { text: plan.text, model: plan.model, source: 'rules', ...NO_MODEL_CALL };
    const request = this.request(messages, options);
    const key = this.cacheKey(plan.model, request);
    const cached = key ? await this.options.cache.lookup(key) : undefined;
    if (cached !== undefined) return { text: cached, model: plan.model.descriptor, source: 'cache', ...NO_MODEL_CALL };
    const { text, finishReason, toolCalls, usage } = await plan.model.complete(request);
    requireAnswer(text, toolCalls, plan.model);
    // Only whole answers: a cut one would come back from the cache as complete.
    if (key && finishReason === 'stop') await this.options.cache.save(key, text);
    return { text, model: plan.model.descriptor, source: 'model', finishReason, ...(toolCalls ? { toolCalls } : {}), ...(usage ? { usage } : {}) };
  }

  /**
   * As answer(), streaming: who answers, with answer.source set to it. A model's deltas are
   * added to answer.text as they pass (so an abandoned stream is logged with the text sent so
   * far), and `completed` takes its ending. Not a generator itself: run() is the only generator
   * between the model's stream and the client (see tap()).
   */
  private async streamSource(plan: Plan, messages: ChatMessage[], options: CompletionOptions, answer: Answer): Promise<StreamSource> {
    if (plan.source === 'rules') {
      Object.assign(answer, { text: plan.text }, NO_MODEL_CALL);
      return { text: plan.text };
    }
    const request = this.request(messages, options);
    const key = this.cacheKey(plan.model, request);
    const cached = key ? await this.options.cache.lookup(key) : undefined;
    if (cached !== undefined) {
      Object.assign(answer, { source: 'cache', text: cached }, NO_MODEL_CALL);
      return { text: cached };
    }
    return {
      deltas: tap(plan.model.stream(request), (delta) => {
        answer.text += delta;
      }),
      completed: async (ending) => {
        Object.assign(answer, ending);
        requireAnswer(answer.text, ending.toolCalls, plan.model);
        // Only whole answers: a cut one would come back from the cache as complete.
        if (key && ending.finishReason === 'stop') await this.options.cache.save(key, answer.text);
      },
    };
  }

  private async remember(session: SessionRef, user: ChatMessage, reply: string): Promise<void> {
    await this.options.sessions.append(session, user, { role: 'assistant', content: reply });
    this.options.activeSessions.touch(sessionKey(session));
  }

  /** Resolves once the exchange is in the conversation log: await it before the answer leaves. */
  private log(turn: LoggedTurn, user: ChatMessage | undefined, answer: Answer, startedAt: number, error?: unknown): Promise<void> {
    return this.options.conversationLog.write({
      time: new Date().toISOString(),
      channel: turn.channel,
      ...(turn.sessionId ? { sessionId: turn.sessionId } : {}),
      ...(turn.principal ? { principal: turn.principal } : {}),
      model: answer.model,
      source: answer.source,
      user: describeUserText(user),
      reply: answer.text,
      durationMs: Math.round(performance.now() - startedAt),
      ...(error !== undefined ? { error: error instanceof Error ? error.message : String(error) } : {}),
    });
  }
}

/**
 * Options whose signal is the turn's, read only when a model call uses it: reading it makes the
 * request's AbortController, which rules and cached answers never need (see ClientDisconnect).
 */
function lazySignal(turn: Pick<Turn, 'signal'>): CompletionOptions {
  return {
    get signal() {
      return turn.signal;
    },
  };
}

/** The answer before any text: who was to answer. */
function unanswered(plan: Plan): Answer {
  return { text: '', model: modelOf(plan), source: plan.source, finishReason: 'stop' };
}
