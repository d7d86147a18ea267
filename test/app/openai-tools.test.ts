/**
 * The official openai SDK runs a tool-calling loop through the gateway, as agent frameworks
 * do, against a fake upstream that asks for a tool and then answers with its result: for an
 * OpenAI-compatible and an Anthropic upstream, streaming and not.
 */
import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { startFakeAnthropic, startFakeOpenAI, type FakeLLM, type FakeStep, type RecordedRequest } from '../helpers/fake-llm';
import { startGateway, type TestGateway } from '../helpers/gateway';

const WEATHER_PARAMETERS = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
const TOOLS: ChatCompletionTool[] = [{ type: 'function', function: { name: 'get_weather', description: 'the weather in a city', parameters: WEATHER_PARAMETERS } }];

/** The tool result the upstream last received, in either protocol; undefined before any. */
function toolResultIn(body: RecordedRequest['body']): string | undefined {
  const last = body.messages.at(-1);
  if (last.role === 'tool') return last.content;
  const block = Array.isArray(last.content) ? last.content.find((b: { type: string }) => b.type === 'tool_result') : undefined;
  return block?.content;
}

/** Asks for the weather tool first; answers with the tool's result once it has one. */
const weatherModel = (request: RecordedRequest): FakeStep => {
  const result = toolResultIn(request.body);
  return result === undefined ? { toolCalls: [{ id: 'call_w1', name: 'get_weather', arguments: '{"city":"Paris"}' }] } : { text: `It is ${result} in Paris.` };
};

/** The client side of the loop: calls the tool the model asks for until it answers in text. */
async function runToolLoop(client: OpenAI, stream: boolean): Promise<{ answer: string; finishReasons: string[] }> {
  const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is the weather in Paris?' }];
  const finishReasons: string[] = [];
  for (let turn = 0; turn < 3; turn++) {
    const completion = stream
      ? await client.chat.completions.stream({ model: 'any', messages, tools: TOOLS, tool_choice: 'auto', parallel_tool_calls: false }).finalChatCompletion()
      : await client.chat.completions.create({ model: 'any', messages, tools: TOOLS, tool_choice: 'auto', parallel_tool_calls: false });
    const choice = completion.choices[0];
    finishReasons.push(choice.finish_reason);
    if (choice.finish_reason !== 'tool_calls') return { answer: choice.message.content ?? '', finishReasons };
    messages.push({ role: 'assistant', content: null, tool_calls: choice.message.tool_calls });
    for (const call of choice.message.tool_calls ?? []) {
      if (call.type !== 'function') continue;
      const { city } = JSON.parse(call.function.arguments) as { city: string };
      messages.push({ role: 'tool', tool_call_id: call.id, content: city === 'Paris' ? 'sunny' : 'unknown' });
    }
  }
  throw new Error('the loop did not end');
}

describe.each([
  ['openai', startFakeOpenAI],
  ['anthropic', startFakeAnthropic],
] as const)('a tool-calling loop of the openai SDK through the gateway, %s upstream', (provider, startFake) => {
  let fake: FakeLLM;
  let gw: TestGateway;
  let client: OpenAI;
  beforeAll(async () => {
    fake = await startFake({ reply: weatherModel });
    // Hybrid routing: a tool conversation must still reach the model, never the rules engine.
    gw = await startGateway({ MODEL_PROVIDER: provider, MODEL_ENDPOINT: fake.url, MODEL_API_KEY: 'sk-test-provider-key-0123456789abcdef', ROUTING: 'hybrid' });
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: gw.apiKey, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });

  it.each([false, true])('calls the tool and answers with its result (stream: %s)', async (stream) => {
    const before = fake.completions().length;
    const { answer, finishReasons } = await runToolLoop(client, stream);
    expect(answer).toBe('It is sunny in Paris.');
    expect(finishReasons).toEqual(['tool_calls', 'stop']);

    const [first, second] = fake.completions().slice(before).map((r) => r.body);
    if (provider === 'openai') {
      expect(first).toMatchObject({ tools: TOOLS, tool_choice: 'auto', parallel_tool_calls: false });
      expect(second.messages.slice(1)).toEqual([
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_w1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_w1', content: 'sunny' },
      ]);
    } else {
      expect(first).toMatchObject({
        tools: [{ name: 'get_weather', description: 'the weather in a city', input_schema: WEATHER_PARAMETERS }],
        tool_choice: { type: 'auto', disable_parallel_tool_use: true },
      });
      expect(second.messages.slice(1)).toEqual([
        { role: 'assistant', content: [{ type: 'tool_use', id: 'call_w1', name: 'get_weather', input: { city: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_w1', content: 'sunny' }] },
      ]);
    }
  });

  it('a tool conversation whose last message is a greeting still goes to the model, not the rules engine', async () => {
    fake.enqueue({ text: 'Hello from the model' });
    const completion = await client.chat.completions.create({ model: 'any', messages: [{ role: 'user', content: 'hello' }], tools: TOOLS });
    expect(completion.choices[0].message.content).toBe('Hello from the model');
    expect(completion.model).not.toBe('rules');
  });

  it('surfaces the request id the gateway logged', async () => {
    const { data, request_id } = await client.models.list().withResponse();
    expect(data.data).toHaveLength(1);
    const lines = (await gw.readLog('access.log')).trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.find((line) => line.reqId === request_id)).toMatchObject({ path: '/v1/models' });
    expect((await client.models.retrieve(data.data[0].id)).id).toBe(data.data[0].id);
  });
});
