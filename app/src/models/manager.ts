import type { ModelSettings } from '../config';
import type { ChatModel, ModelDescriptor } from './types';

/** The request body of PUT /admin/model and `modelctl switch`. */
export interface ModelSwitch {
  provider?: ModelSettings['provider'];
  name: string;
  endpoint?: string;
  /** Omitted: keep using the configured MODEL_API_KEY. */
  apiKey?: string;
}

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
