// The terminal chat's side of the gateway client it shares with the web page:
// app/public/gateway.js, plain JavaScript (the page has no build step), typed here.
import { createParser } from 'eventsource-parser';

/** The model as the gateway reports it. */
export interface ModelInfo {
  name: string;
  provider?: string;
}

/** The last event of a streamed /api/chat reply. */
export interface ChatReply {
  sessionId: string;
  reply: string;
  model: { provider: string; name: string };
}

/** A call the gateway refused or could not finish. */
export interface GatewayError extends Error {
  /** Undefined when the error arrived after the reply began streaming. */
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly retryAfterSeconds: number | undefined;
}

export interface GatewayClient {
  currentModel(): Promise<ModelInfo | undefined>;
  chat(request: { message: string; sessionId?: string; signal?: AbortSignal }, onDelta: (text: string) => void): Promise<ChatReply>;
}

interface SharedGateway {
  GatewayClient: new (options: { baseUrl: URL; apiKey: string; channel: 'tui'; createParser: typeof createParser }) => GatewayClient;
  GatewayError: new (message: string, details?: { status?: number; code?: string }) => GatewayError;
  describeError(error: unknown, names: { gateway: string; key: string }): string;
  modelLabel(model: ModelInfo | undefined): string;
  replyLabel(replyModel: ModelInfo, currentModel: ModelInfo | undefined): string;
}

// app/public, two levels up from both app/src/tui (tests) and app/dist/tui (build, image). A
// plain require: tsc needs no app/public to compile this (the image's build stage has none).
const shared = require('../../public/gateway.js') as SharedGateway;

export const { GatewayError, modelLabel, replyLabel } = shared;

export function terminalClient(gatewayUrl: URL, apiKey: string): GatewayClient {
  return new shared.GatewayClient({ baseUrl: gatewayUrl, apiKey, channel: 'tui', createParser });
}

/** One line for the person at the terminal, naming the variable to fix where there is one. */
export function describeError(error: unknown, gatewayUrl: URL): string {
  return shared.describeError(error, { gateway: `the gateway at ${gatewayUrl.origin} (CLAWDBOT_URL)`, key: 'CLAWDBOT_API_KEY' });
}
