// One request to a Node listener (an Express app included) through the shim's
// in-process HTTP, so the app sees real Node request and response objects.
// Tests use this rather than light-my-request for Express apps: handed an Express
// app itself, light-my-request rewires the prototypes of Express's shared request
// and response objects, and later real HTTP requests to Express in the same file
// hang or crash.
import type { RequestListener } from 'node:http';
import { requestInProcess } from '../../shim/adapters/in-process-http.js';

export interface SendOptions {
  method?: string;
  url: string;
  headers?: Record<string, string>;
  payload?: string | Uint8Array;
}

export async function send(listener: unknown, options: SendOptions): Promise<{ statusCode: number; payload: string }> {
  const { method = 'GET', url, headers = {}, payload = '' } = options;
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const response = await requestInProcess(listener as RequestListener, { method, url, headers, body, remoteAddress: '127.0.0.1' });
  return { statusCode: response.status, payload: response.body };
}
