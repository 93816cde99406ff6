/**
 * Test helpers: a fetch double at the network boundary, and settings that
 * route the real ServerConnection through it.
 */
import { ServerConnection } from '@jupyterlab/services';
import { vi } from 'vitest';
import { DXClient } from '../api';

export const BASE_URL = 'http://127.0.0.1:8888/lab/base/';
export const TOKEN = 'test-token';

/** A canned answer. */
export interface IAnswer {
  status?: number;
  body?: unknown;
  text?: string;
  headers?: Record<string, string>;
}

/** A recorded request, with its body already read. */
export interface IRecorded {
  request: Request;
  url: URL;
  method: string;
  bodyText: string | null;
  form: FormData | null;
}

/**
 * A fetch double answering from a queue (or a function), recording requests.
 */
export function fakeFetch(answers: IAnswer[] | ((req: Request) => IAnswer | Promise<IAnswer>)) {
  const requests: IRecorded[] = [];
  const queue = Array.isArray(answers) ? [...answers] : null;
  const fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const contentType = request.headers.get('Content-Type') ?? '';
    let bodyText: string | null = null;
    let form: FormData | null = null;
    if (request.method !== 'GET' && request.method !== 'HEAD' && request.body) {
      if (contentType.startsWith('multipart/form-data')) {
        form = await request.clone().formData();
      } else {
        bodyText = await request.clone().text();
      }
    }
    requests.push({ request, url: new URL(request.url), method: request.method, bodyText, form });
    const answer = queue ? queue.shift() : await (answers as (r: Request) => IAnswer)(request);
    if (!answer) {
      throw new Error(`Unexpected request ${request.method} ${request.url}`);
    }
    const status = answer.status ?? 200;
    const text =
      answer.text !== undefined
        ? answer.text
        : answer.body === undefined
          ? null
          : JSON.stringify(answer.body);
    return new Response(status === 204 ? null : text, {
      status,
      headers: answer.headers ?? (text !== null && answer.text === undefined ? { 'Content-Type': 'application/json' } : {})
    });
  });
  return { fetch, requests };
}

/** A client whose requests go to `fetch`. */
export function makeClient(fetch: typeof globalThis.fetch): DXClient {
  const serverSettings = ServerConnection.makeSettings({
    baseUrl: BASE_URL,
    token: TOKEN,
    appendToken: false,
    fetch
  });
  return new DXClient({ serverSettings });
}

/** The API path of a recorded request (after `dx/api/`), without the cache buster. */
export function apiPath(recorded: IRecorded): string {
  const prefix = new URL(BASE_URL).pathname + 'dx/api/';
  const path = recorded.url.pathname;
  if (!path.startsWith(prefix)) {
    throw new Error(`Not an API request: ${path}`);
  }
  return path.slice(prefix.length);
}

/** The query of a recorded request without ServerConnection's numeric cache buster. */
export function query(recorded: IRecorded): Record<string, string> {
  const out: Record<string, string> = {};
  recorded.url.searchParams.forEach((value, key) => {
    if (!(value === '' && /^\d+$/.test(key))) {
      out[key] = value;
    }
  });
  return out;
}
