// The dashboard's request handling over real HTTP on loopback: pages, escaping of
// attacker-controlled text, access rules, CSRF and Origin checks, actions.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Dashboard, type DashboardRequest } from '../../../shim/dashboard/dashboard.js';
import { serveDashboardNode } from '../../../shim/dashboard/http.js';
import type { AccessPolicy } from '../../../shim/dashboard/security.js';
import { listen, type Listening } from '../../support/listen.js';
import { FakeOperations } from './fake-operations.js';

const BASE = '/_ah/deferred/dashboard';
const TOKEN = 'a-dashboard-token-for-tests';

let ops: FakeOperations;
let server: Listening | undefined;

beforeEach(() => {
  ops = new FakeOperations();
});

afterEach(async () => {
  await server?.close();
  server = undefined;
});

const errors: unknown[] = [];

function dashboardWith(policy: AccessPolicy): Dashboard {
  return new Dashboard({ path: BASE, policy, operations: () => ops, now: () => 61_000, onError: (error) => errors.push(error) });
}

async function serve(policy: AccessPolicy): Promise<string> {
  const dashboard = dashboardWith(policy);
  server = await listen((req, res) => void serveDashboardNode(dashboard, req, res));
  return server.baseUrl + BASE;
}

/** A browser-like client: keeps cookies, reads the CSRF token of the last page. */
class Client {
  cookies = new Map<string, string>();
  csrf = '';
  constructor(readonly headers: Record<string, string> = {}) {}

  async get(url: string): Promise<{ status: number; text: string; response: Response }> {
    const response = await fetch(url, { headers: this.requestHeaders(), redirect: 'manual' });
    return this.read(response);
  }

  async post(url: string, fields: Record<string, string>, extra: Record<string, string> = {}) {
    const response = await fetch(url, {
      method: 'POST',
      headers: { ...this.requestHeaders(), 'Content-Type': 'application/x-www-form-urlencoded', ...extra },
      body: new URLSearchParams(fields).toString(),
      redirect: 'manual',
    });
    return this.read(response);
  }

  private requestHeaders(): Record<string, string> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    return { ...this.headers, ...(cookie && { Cookie: cookie }) };
  }

  private async read(response: Response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    const text = await response.text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(text);
    if (csrf) this.csrf = csrf[1]!;
    return { status: response.status, text, response };
  }
}

describe('pages', () => {
  it('lists queues with counts by state, paused state, limits and a throughput chart', async () => {
    ops.addTask({ name: 'a', state: 'failed' });
    ops.addTask({ name: 'b', state: 'pending', queue: 'mail' });
    ops.paused.add('mail');
    const base = await serve({ openOnLoopback: true });
    const { status, text } = await new Client().get(`${base}/`);
    expect(status).toBe(200);
    expect(text).toContain(`<a href="${BASE}/queues/mail">mail</a>`);
    expect(text).toContain('<span class="failed-count">1</span>');
    expect(text).toMatch(/<span class="state state-paused">Paused<\/span>/);
    expect(text).toContain('5/s, bucket 5, task_retry_limit 3');
    expect(text).toMatch(/<svg class="chart" role="img" aria-label="Queue default: \d+ done, \d+ failed in the last 15 minutes"/);
  });

  it('shows a queue\u2019s tasks filtered by state, one page at a time', async () => {
    for (let i = 0; i < 60; i++) ops.addTask({ name: `t${i}`, state: i % 2 ? 'failed' : 'pending', lastError: `boom ${i}` });
    const base = await serve({ openOnLoopback: true });
    const client = new Client();
    const first = await client.get(`${base}/queues/default?state=failed`);
    expect(first.text.match(/<tr>\n<th scope="row">/g)).toHaveLength(30);
    expect(first.text).not.toContain('>t0<');
    expect(first.text).toContain('<option value="failed" selected>');
    const all = await client.get(`${base}/queues/default`);
    expect(all.text.match(/<tr>\n<th scope="row">/g)).toHaveLength(50);
    const next = /href="([^"]+)" rel="next"/.exec(all.text)![1]!.replace(/&amp;/g, '&');
    const second = await client.get(`http://${new URL(base).host}${next}`);
    expect(second.text.match(/<tr>\n<th scope="row">/g)).toHaveLength(10);
    expect(second.text).toContain('rel="first"');
    ops.listTasks = async () => {
      throw new TypeError('not a cursor of this backend');
    };
    expect((await client.get(`${base}/queues/default?cursor=bogus`)).status).toBe(400);
  });

  it('shows one task: function, decoded arguments, attempts with status and stack', async () => {
    ops.addTask({
      name: 'job-1',
      state: 'failed',
      function: 'sendMail',
      args: [new Date(Date.UTC(2026, 0, 2)), new Map([['k', 1n]]), Buffer.from('hi')],
      attempts: 1,
      attemptLog: [{ number: 1, finishedMs: 5_000, status: 500, error: { message: 'Error: smtp down', stack: 'Error: smtp down\n    at send (mail.ts:3:9)' } }],
    });
    const base = await serve({ openOnLoopback: true });
    const { status, text } = await new Client().get(`${base}/queues/default/tasks/job-1`);
    expect(status).toBe(200);
    expect(text).toContain('<code>sendMail</code>');
    expect(text).toContain('2026-01-02T00:00:00.000Z');
    expect(text).toContain("Map(1) { &#39;k&#39; =&gt; 1n }");
    expect(text).toContain('&lt;Buffer 68 69&gt;');
    expect(text).toContain('HTTP 500');
    expect(text).toContain('at send (mail.ts:3:9)');
  });

  it('renders attacker-controlled text as text: arguments, errors, names', async () => {
    const payload = '<script>alert("x")</script>';
    ops.addTask({
      name: `<img src=x onerror=alert(1)>`,
      queue: '<b>q</b>',
      state: 'failed',
      args: [payload],
      lastError: payload,
      attemptLog: [{ number: 1, finishedMs: 1, status: 500, error: { message: payload } }],
    });
    const base = await serve({ openOnLoopback: true });
    const client = new Client();
    const pages = [
      await client.get(`${base}/`),
      await client.get(`${base}/queues/${encodeURIComponent('<b>q</b>')}`),
      await client.get(`${base}/queues/${encodeURIComponent('<b>q</b>')}/tasks/${encodeURIComponent('<img src=x onerror=alert(1)>')}`),
    ];
    for (const page of pages) {
      expect(page.status).toBe(200);
      expect(page.text).not.toMatch(/<script>alert|<img src=x|<b>q<\/b>/);
      // The only script is the dashboard's own file.
      expect(page.text.match(/<script/g)).toEqual(['<script']);
    }
    expect(pages[2]!.text).toContain('&#39;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;');
    expect(pages[2]!.text).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('sends a strict Content-Security-Policy and no-store with every response', async () => {
    const base = await serve({ openOnLoopback: true });
    for (const path of ['/', '/assets/dashboard.js', '/nope']) {
      const { response } = await new Client().get(base + path);
      expect(response.headers.get('content-security-policy')).toBe(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      );
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    }
    const css = await new Client().get(`${base}/assets/dashboard.css`);
    expect(css.response.headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('answers 500 without details when the operations fail, and reports the error', async () => {
    ops.listQueues = async () => {
      throw new Error('database is locked at /secret/path');
    };
    const base = await serve({ openOnLoopback: true });
    const { status, text } = await new Client().get(`${base}/`);
    expect(status).toBe(500);
    expect(text).not.toContain('/secret/path');
    expect(errors.splice(0)).toEqual([new Error('database is locked at /secret/path')]);
  });

  it('answers 404 for unknown pages, queues and tasks, 405 for other methods', async () => {
    const base = await serve({ openOnLoopback: true });
    const client = new Client();
    expect((await client.get(`${base}/nope`)).status).toBe(404);
    expect((await client.get(`${base}/queues/absent`)).status).toBe(404);
    expect((await client.get(`${base}/queues/default/tasks/absent`)).status).toBe(404);
    expect((await fetch(`${base}/`, { method: 'PUT' })).status).toBe(405);
  });
});

describe('access', () => {
  function facts(overrides: Partial<DashboardRequest>): DashboardRequest {
    return {
      method: 'GET',
      target: `${BASE}/`,
      header: (name) => (name === 'host' ? 'localhost:8080' : undefined),
      remoteAddress: '127.0.0.1',
      secure: false,
      native: undefined,
      readBody: async () => '',
      ...overrides,
    };
  }

  it('is off in production with neither auth nor token: not served, 404 if asked anyway', async () => {
    const dashboard = dashboardWith({ openOnLoopback: false });
    expect(dashboard.serves(`${BASE}/`)).toBe(false);
    expect((await dashboard.handle(facts({}))).status).toBe(404);
  });

  it('open on loopback: only to a loopback socket with a loopback Host (not a rebinding page)', async () => {
    const dashboard = dashboardWith({ openOnLoopback: true });
    expect(dashboard.serves(`${BASE}/queues/x`)).toBe(true);
    expect(dashboard.serves(`${BASE}x`)).toBe(false);
    expect((await dashboard.handle(facts({}))).status).toBe(200);
    expect((await dashboard.handle(facts({ remoteAddress: '::ffff:127.0.0.1' }))).status).toBe(200);
    expect((await dashboard.handle(facts({ remoteAddress: '10.1.2.3' }))).status).toBe(403);
    expect((await dashboard.handle(facts({ remoteAddress: undefined }))).status).toBe(403);
    // A forwarded-for header does not make a remote client local.
    expect((await dashboard.handle(facts({ remoteAddress: '10.1.2.3', header: (n) => ({ host: 'localhost', 'x-forwarded-for': '127.0.0.1' })[n] }))).status).toBe(403);
    expect((await dashboard.handle(facts({ header: (n) => (n === 'host' ? 'evil.example:8080' : undefined) }))).status).toBe(403);
  });

  it('token: 401 with a sign-in form without it, in with the bearer header or after signing in', async () => {
    const base = await serve({ token: TOKEN, openOnLoopback: true });
    const anonymous = new Client();
    const refused = await anonymous.get(`${base}/`);
    expect(refused.status).toBe(401);
    expect(refused.response.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(refused.text).toContain('<label for="token">Dashboard token</label>');
    expect((await new Client({ Authorization: 'Bearer wrong-token-wrong-token' }).get(`${base}/`)).status).toBe(401);
    expect((await new Client({ Authorization: `Bearer ${TOKEN}` }).get(`${base}/`)).status).toBe(200);

    const wrong = await anonymous.post(`${base}/login`, { csrf: anonymous.csrf, token: 'nope' });
    expect(wrong.status).toBe(401);
    const signIn = await anonymous.post(`${base}/login`, { csrf: anonymous.csrf, token: TOKEN });
    expect(signIn.status).toBe(303);
    expect(anonymous.cookies.get('dmdash_session')).toBeDefined();
    expect(anonymous.cookies.get('dmdash_session')).not.toContain(TOKEN);
    expect((await anonymous.get(`${base}/`)).status).toBe(200);

    // The forms of a session die with it: a token read before signing out no longer works.
    const formToken = anonymous.csrf;
    expect((await anonymous.post(`${base}/logout`, { csrf: formToken })).status).toBe(303);
    expect(anonymous.cookies.get('dmdash_session')).toBe('');
    const stale = new Client({ Authorization: `Bearer ${TOKEN}` });
    stale.cookies = new Map(anonymous.cookies);
    expect((await stale.post(`${base}/queues/default/pause`, { csrf: formToken })).status).toBe(403);
    expect(ops.calls).toEqual([]);
  });

  it('auth hook: its verdict decides (403 when false), given the server\u2019s request object', async () => {
    const seen: unknown[] = [];
    const base = await serve({
      auth: (req, info) => {
        seen.push(req);
        return info.header('X-Role') === 'admin' && info.remoteAddress === '127.0.0.1';
      },
      openOnLoopback: true,
    });
    expect((await new Client().get(`${base}/`)).status).toBe(403);
    expect((await new Client({ 'X-Role': 'admin' }).get(`${base}/`)).status).toBe(200);
    expect(seen[0]).toHaveProperty('socket');
  });
});

describe('actions', () => {
  it('run on a same-origin POST with the CSRF token and redirect back with a message', async () => {
    ops.addTask({ name: 'job', state: 'failed' });
    const base = await serve({ openOnLoopback: true });
    const client = new Client();
    await client.get(`${base}/queues/default/tasks/job`);
    const origin = new URL(base).origin;
    const retried = await client.post(`${base}/queues/default/tasks/job/retry`, { csrf: client.csrf }, { Origin: origin, 'Sec-Fetch-Site': 'same-origin' });
    expect(retried.status).toBe(303);
    expect(retried.response.headers.get('location')).toBe(`${BASE}/queues/default/tasks/job?done=retried`);
    expect(ops.calls).toEqual(['retry default/job']);
    expect((await client.get(`${origin}${retried.response.headers.get('location')}`)).text).toContain('Task queued to run now.');
    await client.post(`${base}/queues/default/pause`, { csrf: client.csrf });
    await client.post(`${base}/queues/default/resume`, { csrf: client.csrf });
    await client.post(`${base}/queues/default/retry-failed`, { csrf: client.csrf });
    await client.post(`${base}/queues/default/tasks/job/delete`, { csrf: client.csrf });
    expect(ops.calls).toEqual(['retry default/job', 'pause default', 'resume default', 'retry-failed default', 'delete default/job']);
  });

  it('are refused without the CSRF token, with another browser\u2019s token, or from another site', async () => {
    ops.addTask({ name: 'job', state: 'failed' });
    const base = await serve({ openOnLoopback: true });
    const victim = new Client();
    await victim.get(`${base}/`);
    const attacker = new Client();
    await attacker.get(`${base}/`);
    const url = `${base}/queues/default/tasks/job/delete`;
    expect((await victim.post(url, {})).status).toBe(403);
    expect((await victim.post(url, { csrf: attacker.csrf })).status).toBe(403);
    expect((await victim.post(url, { csrf: victim.csrf }, { 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
    expect((await victim.post(url, { csrf: victim.csrf }, { Origin: 'https://evil.example' })).status).toBe(403);
    expect((await victim.post(url, { csrf: victim.csrf }, { Origin: 'null' })).status).toBe(403);
    expect(ops.calls).toEqual([]);
    expect((await victim.post(url, { csrf: victim.csrf })).status).toBe(303);
    expect(ops.calls).toEqual(['delete default/job']);
  });

  it('purge asks for confirmation first (a page, no script needed)', async () => {
    ops.addTask({ name: 'a', state: 'pending' });
    ops.addTask({ name: 'b', state: 'failed' });
    const base = await serve({ openOnLoopback: true });
    const client = new Client();
    const confirm = await client.get(`${base}/queues/default/purge`);
    expect(confirm.text).toContain('<input type="hidden" name="confirm" value="yes">');
    const unconfirmed = await client.post(`${base}/queues/default/purge`, { csrf: client.csrf });
    expect(unconfirmed.response.headers.get('location')).toBe(`${BASE}/queues/default/purge`);
    expect(ops.tasks).toHaveLength(2);
    const purged = await client.post(`${base}/queues/default/purge`, { csrf: client.csrf, confirm: 'yes' });
    expect(purged.response.headers.get('location')).toBe(`${BASE}/queues/default?done=purged&n=2`);
    expect(ops.tasks).toHaveLength(0);
  });

  it('refuses a form body over 16 KiB', async () => {
    const base = await serve({ openOnLoopback: true });
    const client = new Client();
    await client.get(`${base}/`);
    expect((await client.post(`${base}/queues/default/pause`, { csrf: client.csrf, pad: 'x'.repeat(20_000) })).status).toBe(413);
    expect(ops.calls).toEqual([]);
  });
});
