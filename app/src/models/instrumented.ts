import type { Logger } from 'pino';
import { InputError } from '../lib/errors';
import type { GatewayMetrics } from '../observability/metrics';
import { ModelError, tap, textOf, type AnswerEnding, type ChatModel, type CompletionRequest, type StreamEnd } from './types';

type ModelMetrics = Pick<GatewayMetrics, 'modelCallDuration' | 'modelFailures'>;

/** How a call ended; an abandoned call (the client went away) is no model failure. */
type Outcome = Exclude<StreamEnd, { kind: 'ok' }> | { kind: 'ok'; reply: string; ending: AnswerEnding };

/**
 * Wraps a model so that every call is timed (the duration histogram's count is the call count,
 * see createMetrics) and written to model_api.log.
 * Message text is logged at debug level only.
 */
export function instrument(model: ChatModel, metrics: ModelMetrics, log: Logger): ChatModel {
  const labels = { provider: model.descriptor.provider, model: model.descriptor.name };
  // The model's fields are serialized once, as the child's bindings. Each line's own fields are
  // an object literal: pino took 9 µs for a line whose object spread the descriptor into it,
  // 1 µs for the same fields as a literal.
  const callLog = log.child(model.descriptor);

  const record = (request: CompletionRequest, stream: boolean, startedAt: number, outcome: Outcome) => {
    const seconds = (performance.now() - startedAt) / 1000;
    metrics.modelCallDuration.observe(labels, seconds);
    const durationMs = Math.round(seconds * 1000);
    if (outcome.kind === 'ok') {
      const { finishReason, usage, toolCalls } = outcome.ending;
      callLog.info({ stream, durationMs, outcome: 'ok', finishReason, usage, toolCalls: toolCalls?.length }, 'model call');
      if (callLog.isLevelEnabled('debug')) {
        const messages = request.messages.map((m) => ({ role: m.role, text: textOf(m.content) }));
        callLog.debug({ messages, reply: outcome.reply }, 'model call text');
      }
      return;
    }
    const clientLeft = outcome.kind === 'abandoned' || (!(outcome.error instanceof ModelError) && request.signal?.aborted);
    if (clientLeft) {
      callLog.info({ stream, durationMs, outcome: 'abandoned' }, 'model call abandoned by the client');
      return;
    }
    const error = outcome.kind === 'failed' ? outcome.error : undefined;
    // `refused`: the provider refused this request as malformed (a 400 to the client).
    const reason = error instanceof InputError ? 'refused' : error instanceof ModelError && error.status === 504 ? 'timeout' : 'error';
    metrics.modelFailures.inc({ ...labels, reason });
    callLog.warn({ stream, durationMs, outcome: reason, error: error instanceof Error ? error.message : String(error) }, 'model call failed');
  };

  return {
    descriptor: model.descriptor,
    supportsVision: model.supportsVision,
    async complete(request) {
      const startedAt = performance.now();
      try {
        const result = await model.complete(request);
        record(request, false, startedAt, { kind: 'ok', reply: result.text, ending: result });
        return result;
      } catch (error) {
        record(request, false, startedAt, { kind: 'failed', error });
        throw error;
      }
    },
    stream(request) {
      const startedAt = performance.now();
      // The reply text is only logged at debug level: otherwise no delta is looked at.
      let reply = '';
      const each = callLog.isLevelEnabled('debug')
        ? (delta: string) => {
            reply += delta;
          }
        : undefined;
      return tap(model.stream(request), each, (how) => record(request, true, startedAt, how.kind === 'ok' ? { ...how, reply } : how));
    },
  };
}
