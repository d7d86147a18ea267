import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

// An OpenAI-compatible model on the CI side that the bot on the test host calls
// (MODEL_PROVIDER=openai): it answers every chat completion with the last user message and
// records the messages it got, so that a test sees which history the bot sent with a turn.

export interface ChatMessageSeen {
  role: string;
  content: string;
}

export interface EchoModel {
  /** MODEL_ENDPOINT for the bot. */
  endpoint: string;
  /** The messages of every completion request, oldest first. */
  requests: ChatMessageSeen[][];
  close(): Promise<void>;
}

/** Listens on every address, so that it outlives the test hosts' veth pairs; the bot reaches it at `reachableAt`. */
export async function startEchoModel(reachableAt: string): Promise<EchoModel> {
  const requests: ChatMessageSeen[][] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      if (request.method !== 'POST' || !request.url?.endsWith('/chat/completions')) {
        response.writeHead(404).end();
        return;
      }
      const { messages } = JSON.parse(body) as { messages: ChatMessageSeen[] };
      requests.push(messages);
      const lastUser = [...messages].reverse().find((message) => message.role === 'user');
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: `chatcmpl-e2e-${requests.length}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: 'e2e-echo',
          choices: [{ index: 0, message: { role: 'assistant', content: `heard: ${lastUser?.content ?? ''}` }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${reachableAt}:${port}/v1`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // A keep-alive connection from a test host that is gone never ends by itself.
        server.closeAllConnections();
      }),
  };
}
