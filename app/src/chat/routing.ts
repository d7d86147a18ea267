import { InputError } from '../lib/errors';
import type { GatewayMetrics } from '../observability/metrics';
import type { ModelManager } from '../models/manager';
import type { RulesModel } from '../models/rules';
import { textOf, usesTools, type ChatMessage, type ChatModel, type ModelDescriptor, type Tools } from '../models/types';

/** Who answers a request, decided before any text is produced. */
export type Plan = { source: 'rules'; text: string; model: ModelDescriptor } | { source: 'model'; model: ChatModel };

export interface RoutingOptions {
  models: ModelManager;
  rules: RulesModel;
  metrics: Pick<GatewayMetrics, 'modelCallDuration'>;
  routing: 'hybrid' | 'llm';
}

export const hasImages = (message: ChatMessage) => typeof message.content !== 'string' && message.content.some((p) => p.type === 'image');

export const lastUserMessage = (messages: ChatMessage[]) => messages.findLast((m) => m.role === 'user');

/**
 * Hybrid routing looks at the newest user message only: a greeting, a help or time request,
 * or an FAQ match is answered by the rules engine; everything else (anything with a picture
 * or tools) goes to the current model. The rules engine cannot call tools: a conversation
 * with tools, when it is the current model, is refused. A request takes the current model
 * once, so a hot switch never affects it.
 *
 * The rules engine answers here, in-process, whether it is the current model or hybrid
 * routing chose it: such an answer is no provider call, so it skips the model call's request
 * building, cache key and model_api.log line (together three quarters of the chat service's work on
 * the rules engine), and is counted as a model call of provider `rules`.
 */
export function route(messages: ChatMessage[], tools: Tools | undefined, { models, rules, routing, metrics }: RoutingOptions): Plan {
  const model = models.current();
  if (usesTools(messages, tools)) {
    const { provider, name } = model.descriptor;
    if (provider === 'rules') {
      throw new InputError(`the current model (${provider}/${name}) cannot call tools; send a conversation without tools`, tools ? 'tools' : 'messages', 'tools_not_supported');
    }
    return { source: 'model', model };
  }
  if (messages.some(hasImages)) {
    if (!model.supportsVision) {
      const { provider, name } = model.descriptor;
      throw new InputError(`the current model (${provider}/${name}) cannot read images; send text only`, undefined, 'images_not_supported');
    }
    return { source: 'model', model };
  }
  const onRules = model.descriptor.provider === 'rules';
  if (!onRules && routing !== 'hybrid') return { source: 'model', model };
  const startedAt = performance.now();
  const question = textOf(lastUserMessage(messages)?.content ?? '');
  const text = onRules ? rules.reply(question) : rules.answerIfSimple(question);
  if (text === undefined) return { source: 'model', model };
  const { provider, name } = rules.descriptor;
  metrics.modelCallDuration.observe({ provider, model: name }, (performance.now() - startedAt) / 1000);
  return { source: 'rules', text, model: rules.descriptor };
}

/** The model a plan names, before any text. */
export function modelOf(plan: Plan): ModelDescriptor {
  return plan.source === 'rules' ? plan.model : plan.model.descriptor;
}
