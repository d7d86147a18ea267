// A fake OpenAI-compatible model for bench/run.js: POST /v1/chat/completions with `stream: true`
// streams TOKENS chunks, each after DELAY_MS, then [DONE]. Fixed delays make the model's own time
// the same for every request, so what the gateway adds stands out. Run as a script: port as
// argv[2]; required, it gives ANSWER_MS.
'use strict';
const http = require('node:http');

const TOKENS = Number(process.env.UPSTREAM_TOKENS ?? 20);
const DELAY_MS = Number(process.env.UPSTREAM_DELAY_MS ?? 20);
/** How long one answer takes (bench/load.js spreads its stream clients over it). */
const ANSWER_MS = TOKENS * DELAY_MS;

const chunk = (delta, finishReason) =>
  `data: ${JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion.chunk',
    created: 0,
    model: 'bench-model',
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  })}\n\n`;

if (require.main === module) {
  const server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let sent = 0;
      const timer = setInterval(() => {
        if (response.destroyed) return clearInterval(timer);
        if (sent < TOKENS) {
          response.write(chunk(sent === 0 ? { role: 'assistant', content: 'token ' } : { content: 'token ' }, null));
          sent += 1;
          return;
        }
        clearInterval(timer);
        response.end(`${chunk({}, 'stop')}data: [DONE]\n\n`);
      }, DELAY_MS);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(Number(process.argv[2]), '127.0.0.1');
}

module.exports = { ANSWER_MS };
