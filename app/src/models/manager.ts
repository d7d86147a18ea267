import { z } from 'zod';
import type { ChatModel, ModelDescriptor } from './types';

/** The request body of PUT /admin/model and `modelctl switch`, validated where it arrives. */
export const switchRequestSchema = z.object({
  provider: z.enum(['openai', 'anthropic', 'rules']).optional(),
  name: z.string().trim().min(1).max(200),
  endpoint: z.url({ protocol: /^https?$/ }).optional(),
  /** Omitted: the switch uses the configured MODEL_API_KEY. */
  apiKey: z.string().trim().min(1).max(4096).optional(),
});

export type ModelSwitch = z.infer<typeof switchRequestSchema>;

/**
 * Holds the current model and swaps it atomically. A request takes current() once and
 * keeps that model to its end, so a switch never fails an in-flight or a new request.
 */
export interface ModelManager {
  current(): ChatModel;
  switch(request: ModelSwitch, actor: string): Promise<{ model: ModelDescriptor; durationMs: number }>;
  /** keyExpiresAt: MODEL_KEY_EXPIRES_AT, while the model in use runs on MODEL_API_KEY. */
  status(): { model: ModelDescriptor; switchedAt?: string; switchedBy?: string; keyExpiresAt?: string };
}
