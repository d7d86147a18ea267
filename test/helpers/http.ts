/** Small fetch helpers for gateway tests. */

/** POSTs JSON with an optional bearer token. */
export function postJson(url: string, body: unknown, token?: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
}

/**
 * Reads a whole `text/event-stream` response: each `data:` payload parsed as JSON, except
 * the final `[DONE]`, which is returned as the string '[DONE]'.
 */
export async function readEvents(response: Response): Promise<unknown[]> {
  const text = await response.text();
  return text
    .split('\n\n')
    .map((block) => block.split('\n').filter((line) => line.startsWith('data: ')).map((line) => line.slice(6)).join('\n'))
    .filter((data) => data.length > 0)
    .map((data) => (data === '[DONE]' ? data : JSON.parse(data)));
}
