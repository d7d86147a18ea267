import { newRequestId } from '../../app/src/http/request-id';

// The id generator of a freshly started process (a restart, another replica).
function anotherProcessIds(): () => string {
  let generate: () => string = () => '';
  jest.isolateModules(() => {
    generate = (jest.requireActual('../../app/src/http/request-id') as { newRequestId: () => string }).newRequestId;
  });
  return generate;
}

describe('newRequestId', () => {
  it('gives req_ and 32 hex digits, as OpenAI request ids look', () => {
    expect(newRequestId()).toMatch(/^req_[0-9a-f]{32}$/);
  });

  it('never repeats an id within a process', () => {
    const ids = new Set(Array.from({ length: 10_000 }, newRequestId));
    expect(ids.size).toBe(10_000);
  });

  it('never repeats an id of another process', () => {
    const first = Array.from({ length: 100 }, anotherProcessIds());
    const second = new Set(Array.from({ length: 100 }, anotherProcessIds()));
    expect(first.filter((id) => second.has(id))).toEqual([]);
  });
});
