import { describe, expect, it } from 'vitest';
import { DXApiError, IExecution, IPackage, IProject, secretsPath } from '../api';
import { TOKEN, apiPath, fakeFetch, makeClient, query } from './helpers';

const project: IProject = {
  id: 'p1',
  name: 'demo',
  description: 'Demo project',
  created_at: '2026-11-29T07:40:00.000000Z',
  updated_at: '2026-11-29T07:40:00.000000Z'
};

const pkg: IPackage = {
  id: 'k1',
  name: 'secrets-demo',
  project: 'demo',
  description: '',
  scripts: [{ name: 'test_secrets.py', order: 1, size: 153, updated_at: '2026-11-29T07:41:00Z' }],
  config: {},
  created_at: '2026-11-29T07:41:00Z',
  updated_at: '2026-11-29T07:41:00Z'
};

const execution: IExecution = {
  id: 'e1',
  project: 'demo',
  package: 'secrets-demo',
  package_id: 'k1',
  trigger: 'manual',
  status: 'pending',
  status_message: '',
  params: { package_name: 'secrets-demo', package_id: 'k1' },
  created_at: '2026-11-29T07:42:00Z',
  started_at: null,
  finished_at: null,
  duration: null,
  steps: []
};

describe('DXClient requests', () => {
  it('lists projects with the Jupyter token, under <base_url>dx/api', async () => {
    const { fetch, requests } = fakeFetch([{ body: { projects: [project] } }]);
    const client = makeClient(fetch);
    await expect(client.listProjects()).resolves.toEqual([project]);
    expect(requests).toHaveLength(1);
    const [r] = requests;
    expect(r.method).toBe('GET');
    expect(r.url.pathname).toBe('/lab/base/dx/api/projects');
    expect(r.request.headers.get('Authorization')).toBe(`token ${TOKEN}`);
  });

  it('creates a project with a JSON body', async () => {
    const { fetch, requests } = fakeFetch([{ status: 201, body: project }]);
    const created = await makeClient(fetch).createProject('demo', 'Demo project');
    expect(created).toEqual(project);
    expect(requests[0].method).toBe('POST');
    expect(apiPath(requests[0])).toBe('projects');
    expect(requests[0].request.headers.get('Content-Type')).toBe('application/json');
    expect(JSON.parse(requests[0].bodyText!)).toEqual({ name: 'demo', description: 'Demo project' });
  });

  it('encodes names in paths', async () => {
    const { fetch, requests } = fakeFetch([{ status: 204 }]);
    await makeClient(fetch).deleteProject('a b/c');
    expect(requests[0].method).toBe('DELETE');
    expect(requests[0].url.pathname).toBe('/lab/base/dx/api/projects/a%20b%2Fc');
  });

  it('lists packages with a trimmed search query, and without one when empty', async () => {
    const { fetch, requests } = fakeFetch([
      { body: { packages: [pkg] } },
      { body: { packages: [] } }
    ]);
    const client = makeClient(fetch);
    await expect(client.listPackages('demo', '  secr ')).resolves.toEqual([pkg]);
    await expect(client.listPackages('demo', '   ')).resolves.toEqual([]);
    expect(apiPath(requests[0])).toBe('projects/demo/packages');
    expect(query(requests[0])).toEqual({ q: 'secr' });
    expect(query(requests[1])).toEqual({});
  });

  it('creates a package as multipart with scripts in order, secrets and config', async () => {
    const answer = { ...pkg, secrets: { stored: ['DB_NAME', 'DB_PASS'] } };
    const { fetch, requests } = fakeFetch([{ status: 201, body: answer }]);
    const script1 = new File(['print(1)\n'], 'a.py', { type: 'text/x-python' });
    const script2 = new File(['print(2)\n'], 'b.py', { type: 'text/x-python' });
    const secrets = new File(['{"DB_NAME": "test_db"}'], 'secrets.json', { type: 'application/json' });
    const config = new File(['{"LOG_LEVEL": "INFO"}'], 'config.json', { type: 'application/json' });
    const created = await makeClient(fetch).createPackage('demo', {
      name: 'secrets-demo',
      description: 'desc',
      scripts: [script1, script2],
      secrets,
      config
    });
    expect(created.secrets?.stored).toEqual(['DB_NAME', 'DB_PASS']);
    const r = requests[0];
    expect(r.method).toBe('POST');
    expect(apiPath(r)).toBe('projects/demo/packages');
    expect(r.request.headers.get('Content-Type')).toMatch(/^multipart\/form-data; boundary=/);
    const form = r.form!;
    expect(form.get('name')).toBe('secrets-demo');
    expect(form.get('description')).toBe('desc');
    const scripts = form.getAll('scripts') as File[];
    expect(scripts.map(f => f.name)).toEqual(['a.py', 'b.py']);
    expect(await scripts[1].text()).toBe('print(2)\n');
    expect((form.get('secrets') as File).name).toBe('secrets.json');
    expect(await (form.get('secrets') as File).text()).toBe('{"DB_NAME": "test_db"}');
    expect((form.get('config') as File).name).toBe('config.json');
  });

  it('omits secrets and config from the form when not given', async () => {
    const { fetch, requests } = fakeFetch([{ status: 201, body: pkg }]);
    await makeClient(fetch).createPackage('demo', {
      name: 'p',
      scripts: [new File(['x'], 'x.py')]
    });
    const form = requests[0].form!;
    expect(form.has('secrets')).toBe(false);
    expect(form.has('config')).toBe(false);
    expect(form.get('description')).toBe('');
  });

  it('reads a script as text and as a blob', async () => {
    const source = "print('hi')\n";
    const { fetch, requests } = fakeFetch([
      { text: source, headers: { 'Content-Type': 'text/x-python' } },
      { text: source, headers: { 'Content-Type': 'text/x-python' } }
    ]);
    const client = makeClient(fetch);
    await expect(client.getScript('demo', 'secrets-demo', 'test_secrets.py')).resolves.toBe(source);
    const blob = await client.downloadScript('demo', 'secrets-demo', 'test_secrets.py');
    expect(await blob.text()).toBe(source);
    expect(apiPath(requests[0])).toBe('projects/demo/packages/secrets-demo/scripts/test_secrets.py');
  });

  it('routes secrets of each scope', () => {
    expect(secretsPath({ scope: 'platform' })).toBe('secrets/platform');
    expect(secretsPath({ scope: 'project', project: 'demo' })).toBe('projects/demo/secrets');
    expect(secretsPath({ scope: 'package', project: 'demo', package: 'p 1' })).toBe(
      'projects/demo/packages/p%201/secrets'
    );
  });

  it('uploads a secrets.json as the body of a PUT, with the mode only when replacing', async () => {
    const result = { scope: 'project', stored: ['A'], created: ['A'], updated: [], deleted: [] };
    const { fetch, requests } = fakeFetch([{ body: result }, { body: result }]);
    const client = makeClient(fetch);
    const file = new File(['{"A": 1}'], 'secrets.json', { type: 'application/json' });
    await expect(client.uploadSecrets({ scope: 'project', project: 'demo' }, file)).resolves.toEqual(result);
    await client.uploadSecrets({ scope: 'platform' }, '{"A": 1}', 'replace');
    expect(requests[0].method).toBe('PUT');
    expect(apiPath(requests[0])).toBe('projects/demo/secrets');
    expect(requests[0].bodyText).toBe('{"A": 1}');
    expect(requests[0].request.headers.get('Content-Type')).toBe('application/json');
    expect(query(requests[0])).toEqual({});
    expect(apiPath(requests[1])).toBe('secrets/platform');
    expect(query(requests[1])).toEqual({ mode: 'replace' });
  });

  it('lists and deletes secrets', async () => {
    const list = {
      scope: 'platform',
      secrets: [{ name: 'X', scope: 'platform', version: 1, created_at: 't', updated_at: 't' }]
    };
    const { fetch, requests } = fakeFetch([{ body: list }, { status: 204 }]);
    const client = makeClient(fetch);
    await expect(client.listSecrets({ scope: 'platform' })).resolves.toEqual(list);
    await expect(
      client.deleteSecret({ scope: 'package', project: 'demo', package: 'secrets-demo' }, 'DB_PASS')
    ).resolves.toBeUndefined();
    expect(requests[1].method).toBe('DELETE');
    expect(apiPath(requests[1])).toBe('projects/demo/packages/secrets-demo/secrets/DB_PASS');
  });

  it('runs a package, with and without parameters', async () => {
    const { fetch, requests } = fakeFetch([
      { status: 201, body: execution },
      { status: 201, body: execution }
    ]);
    const client = makeClient(fetch);
    await expect(client.runPackage('demo', 'secrets-demo')).resolves.toEqual(execution);
    await client.runPackage('demo', 'secrets-demo', { day: '2026-11-29' });
    expect(requests[0].method).toBe('POST');
    expect(apiPath(requests[0])).toBe('projects/demo/packages/secrets-demo/executions');
    expect(JSON.parse(requests[0].bodyText!)).toEqual({});
    expect(JSON.parse(requests[1].bodyText!)).toEqual({ params: { day: '2026-11-29' } });
  });

  it('pages executions and follows one execution, its steps and results', async () => {
    const page = { executions: [execution], total: 1, offset: 20, limit: 20 };
    const step = {
      number: 1,
      script: 'test_secrets.py',
      status: 'completed',
      exit_code: 0,
      started_at: 't',
      finished_at: 't',
      duration: 0.05
    };
    const result = {
      number: 1,
      script: 'test_secrets.py',
      status: 'completed',
      exit_code: 0,
      output: 'DB NAME: test_db\nDB PASS: [REDACTED]\n',
      truncated: false,
      redacted: true
    };
    const { fetch, requests } = fakeFetch([
      { body: page },
      { body: execution },
      { body: { steps: [step] } },
      { body: result },
      { status: 202, body: { ...execution, status: 'cancelled' } }
    ]);
    const client = makeClient(fetch);
    await expect(
      client.listExecutions('demo', 'secrets-demo', { offset: 20, limit: 20 })
    ).resolves.toEqual(page);
    await expect(client.getExecution('e1')).resolves.toEqual(execution);
    await expect(client.listSteps('e1')).resolves.toEqual([step]);
    await expect(client.getStepResult('e1', 1)).resolves.toEqual(result);
    await expect(client.cancelExecution('e1')).resolves.toMatchObject({ status: 'cancelled' });
    expect(query(requests[0])).toEqual({ offset: '20', limit: '20' });
    expect(requests.map(apiPath)).toEqual([
      'projects/demo/packages/secrets-demo/executions',
      'executions/e1',
      'executions/e1/steps',
      'executions/e1/steps/1/result',
      'executions/e1/cancel'
    ]);
    expect(requests[4].method).toBe('POST');
  });
});

describe('DXApiError', () => {
  it('carries the status, kind and message of a JSON error body', async () => {
    const { fetch } = fakeFetch([
      {
        status: 422,
        body: { error: 'invalid_secrets', message: 'secrets.json must hold a JSON object, not a list' }
      }
    ]);
    const error = await makeClient(fetch)
      .uploadSecrets({ scope: 'platform' }, '[1,2]')
      .catch(e => e);
    expect(error).toBeInstanceOf(DXApiError);
    expect(error).toMatchObject({
      status: 422,
      kind: 'invalid_secrets',
      message: 'secrets.json must hold a JSON object, not a list',
      isNetworkError: false
    });
  });

  it.each([
    [409, { error: 'conflict', message: 'project "demo" already exists' }, 'conflict', 'project "demo" already exists'],
    [404, { error: 'not_found', message: 'no project "x"' }, 'not_found', 'no project "x"'],
    [403, { message: 'Forbidden', reason: null }, 'http_403', 'Forbidden'],
    [400, { reason: 'Bad Request' }, 'http_400', 'Bad Request']
  ])('reads %i answers', async (status, body, kind, message) => {
    const { fetch } = fakeFetch([{ status, body }]);
    await expect(makeClient(fetch).getProject('x')).rejects.toMatchObject({ status, kind, message });
  });

  it('describes an answer that is not JSON by its status', async () => {
    const { fetch } = fakeFetch([
      { status: 500, text: '<html>Internal Server Error</html>', headers: { 'Content-Type': 'text/html' } }
    ]);
    await expect(makeClient(fetch).listProjects()).rejects.toMatchObject({
      status: 500,
      kind: 'http_500',
      message: expect.stringMatching(/^500\b/)
    });
  });

  it('turns a network failure into status 0', async () => {
    const fetch = async () => {
      throw new TypeError('Failed to fetch');
    };
    const error = await makeClient(fetch as unknown as typeof globalThis.fetch)
      .listProjects()
      .catch(e => e);
    expect(error).toBeInstanceOf(DXApiError);
    expect(error.status).toBe(0);
    expect(error.isNetworkError).toBe(true);
    expect(error.message).toContain('Failed to fetch');
  });

  it('rejects a 200 answer that is not JSON', async () => {
    const { fetch } = fakeFetch([{ status: 200, text: 'not json', headers: { 'Content-Type': 'text/plain' } }]);
    await expect(makeClient(fetch).listProjects()).rejects.toMatchObject({ kind: 'invalid_response' });
  });
});
