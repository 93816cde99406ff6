import { describe, expect, it } from 'vitest';
import type { IProject } from '../api';
import { DXModel } from '../model';
import { apiPath, fakeFetch, makeClient } from './helpers';

function project(name: string): IProject {
  return { id: `id-${name}`, name, description: '', created_at: 't', updated_at: 't' };
}

describe('DXModel', () => {
  it('loads projects sorted by name and selects the first one', async () => {
    const { fetch } = fakeFetch([{ body: { projects: [project('zeta'), project('alpha')] } }]);
    const model = new DXModel(makeClient(fetch));
    let changes = 0;
    model.changed.connect(() => changes++);
    expect(model.projects).toBeNull();
    await model.loadProjects();
    expect(model.projects!.map(p => p.name)).toEqual(['alpha', 'zeta']);
    expect(model.project).toBe('alpha');
    expect(model.projectsLoading).toBe(false);
    expect(changes).toBeGreaterThan(0);
  });

  it('keeps a selection that still exists, and drops one that does not', async () => {
    const { fetch } = fakeFetch([
      { body: { projects: [project('a'), project('b')] } },
      { body: { projects: [project('a'), project('b')] } },
      { body: { projects: [project('a')] } }
    ]);
    const model = new DXModel(makeClient(fetch));
    await model.loadProjects();
    model.selectProject('b');
    await model.loadProjects();
    expect(model.project).toBe('b');
    await model.loadProjects();
    expect(model.project).toBe('a');
  });

  it('keeps the error of a failed load for the view', async () => {
    const { fetch } = fakeFetch([{ status: 404, body: { message: 'Not Found' } }]);
    const model = new DXModel(makeClient(fetch));
    await expect(model.loadProjects()).rejects.toMatchObject({ status: 404 });
    expect(model.projectsError).toBe('Not Found');
    expect(model.projectsLoading).toBe(false);
  });

  it('creates a project and selects it', async () => {
    const { fetch, requests } = fakeFetch([
      { status: 201, body: project('new') },
      { body: { projects: [project('a'), project('new')] } }
    ]);
    const model = new DXModel(makeClient(fetch));
    await model.createProject('new', 'd');
    expect(model.project).toBe('new');
    expect(requests.map(r => `${r.method} ${apiPath(r)}`)).toEqual(['POST projects', 'GET projects']);
  });

  it('deletes the selected project and selects another', async () => {
    const { fetch } = fakeFetch([
      { body: { projects: [project('a'), project('b')] } },
      { status: 204 },
      { body: { projects: [project('b')] } }
    ]);
    const model = new DXModel(makeClient(fetch));
    await model.loadProjects();
    const revision = model.revision;
    await model.deleteProject('a');
    expect(model.project).toBe('b');
    expect(model.revision).toBeGreaterThan(revision);
  });

  it('navigates between tabs, packages and executions', () => {
    const { fetch } = fakeFetch([]);
    const model = new DXModel(makeClient(fetch));
    model.selectProject('demo');
    model.showAddPackage();
    expect(model.tab).toBe('packages');
    expect(model.packagesView).toEqual({ kind: 'add' });
    model.showPackage('p');
    expect(model.packagesView).toEqual({ kind: 'details', package: 'p' });
    model.showExecutions('p', 'e1');
    expect(model.tab).toBe('executions');
    expect(model.executionsPackage).toBe('p');
    expect(model.execution).toBe('e1');
    model.selectExecution(null);
    expect(model.execution).toBeNull();
    // Another project resets what belonged to the previous one.
    model.showExecutions('p', 'e1');
    model.selectProject('other');
    expect(model.executionsPackage).toBeNull();
    expect(model.execution).toBeNull();
    expect(model.packagesView).toEqual({ kind: 'list' });
  });

  it('bumps the revision on refresh so that views reload', async () => {
    const { fetch } = fakeFetch([{ body: { projects: [] } }]);
    const model = new DXModel(makeClient(fetch));
    await model.refresh();
    expect(model.revision).toBe(1);
    expect(model.projects).toEqual([]);
    expect(model.project).toBeNull();
    model.touch();
    expect(model.revision).toBe(2);
  });
});
