import { describe, expect, it } from 'vitest';
import type { IExecution, IStep } from '../api';
import {
  DEFAULT_BACKOFF,
  canCancel,
  describeUpload,
  executionFingerprint,
  formatDuration,
  hasResult,
  isFinalStatus,
  isFinalStepStatus,
  liveDuration,
  nextPollDelay,
  partitionPackageFiles,
  sortExecutions,
  sortSecrets,
  sortSteps,
  statusLabel,
  statusTone,
  upsertExecution
} from '../state';

function execution(id: string, created_at: string, status: IExecution['status'] = 'completed'): IExecution {
  return {
    id,
    project: 'demo',
    package: 'p',
    package_id: 'k',
    trigger: 'manual',
    status,
    status_message: '',
    params: {},
    created_at,
    started_at: null,
    finished_at: null,
    duration: null,
    steps: []
  };
}

function step(number: number, status: IStep['status'] = 'pending', extra: Partial<IStep> = {}): IStep {
  return {
    number,
    script: `s${number}.py`,
    status,
    exit_code: null,
    started_at: null,
    finished_at: null,
    duration: null,
    ...extra
  };
}

describe('statuses', () => {
  it('knows which execution statuses are final', () => {
    expect(['completed', 'failed', 'cancelled'].map(isFinalStatus)).toEqual([true, true, true]);
    expect(['pending', 'in_progress'].map(isFinalStatus)).toEqual([false, false]);
  });

  it('knows which step statuses are final', () => {
    expect(['completed', 'failed', 'unprocessed'].map(isFinalStepStatus)).toEqual([true, true, true]);
    expect(['pending', 'in_progress'].map(isFinalStepStatus)).toEqual([false, false]);
  });

  it('allows cancel only while not final', () => {
    expect(canCancel({ status: 'pending' })).toBe(true);
    expect(canCancel({ status: 'in_progress' })).toBe(true);
    expect(canCancel({ status: 'completed' })).toBe(false);
    expect(canCancel({ status: 'cancelled' })).toBe(false);
  });

  it('offers results for steps that started', () => {
    expect(hasResult(step(1, 'pending'))).toBe(false);
    expect(hasResult(step(1, 'unprocessed'))).toBe(false);
    expect(hasResult(step(1, 'in_progress'))).toBe(true);
    expect(hasResult(step(1, 'completed'))).toBe(true);
    expect(hasResult(step(1, 'failed'))).toBe(true);
  });

  it('labels and tones statuses', () => {
    expect(statusLabel('in_progress')).toBe('In progress');
    expect(statusLabel('some_new_state')).toBe('Some new state');
    expect(statusTone('completed')).toBe('success');
    expect(statusTone('failed')).toBe('error');
    expect(statusTone('in_progress')).toBe('running');
    expect(statusTone('cancelled')).toBe('muted');
    expect(statusTone('pending')).toBe('neutral');
  });
});

describe('nextPollDelay', () => {
  it('starts at the initial delay and backs off while nothing changes, up to the max', () => {
    const delays: number[] = [];
    let delay: number | null = null;
    for (let i = 0; i < 10; i++) {
      delay = nextPollDelay(delay, false);
      delays.push(delay);
    }
    expect(delays.slice(0, 4)).toEqual([500, 750, 1125, 1688]);
    expect(Math.max(...delays)).toBe(DEFAULT_BACKOFF.max);
    expect(delays[9]).toBe(5000);
    for (let i = 1; i < delays.length; i++) {
      expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1]);
    }
  });

  it('resets when the last poll saw a change', () => {
    expect(nextPollDelay(5000, true)).toBe(500);
  });

  it('follows custom options', () => {
    const options = { initial: 100, factor: 2, max: 350 };
    expect(nextPollDelay(null, false, options)).toBe(100);
    expect(nextPollDelay(100, false, options)).toBe(200);
    expect(nextPollDelay(200, false, options)).toBe(350);
  });
});

describe('executionFingerprint', () => {
  it('changes when the status or a step changes, not with unrelated fields', () => {
    const a = { ...execution('e', '2026-01-01T00:00:00Z', 'in_progress'), steps: [step(1, 'in_progress')] };
    const same = { ...a, params: { other: 1 } };
    const stepDone = { ...a, steps: [step(1, 'completed', { exit_code: 0 })] };
    const done = { ...a, status: 'completed' as const };
    expect(executionFingerprint(same)).toBe(executionFingerprint(a));
    expect(executionFingerprint(stepDone)).not.toBe(executionFingerprint(a));
    expect(executionFingerprint(done)).not.toBe(executionFingerprint(a));
  });
});

describe('sorting', () => {
  it('sorts executions newest first without mutating the input', () => {
    const list = [
      execution('a', '2026-11-29T07:00:00Z'),
      execution('b', '2026-11-29T09:00:00.5Z'),
      execution('c', '2026-11-29T08:00:00Z')
    ];
    expect(sortExecutions(list).map(e => e.id)).toEqual(['b', 'c', 'a']);
    expect(list.map(e => e.id)).toEqual(['a', 'b', 'c']);
  });

  it('breaks creation-time ties by id, deterministically', () => {
    const t = '2026-11-29T07:00:00Z';
    expect(sortExecutions([execution('a', t), execution('b', t)]).map(e => e.id)).toEqual(['b', 'a']);
  });

  it('upserts an execution by id and keeps the order', () => {
    const list = [execution('b', '2026-11-29T09:00:00Z', 'in_progress'), execution('a', '2026-11-29T08:00:00Z')];
    const updated = upsertExecution(list, execution('b', '2026-11-29T09:00:00Z', 'completed'));
    expect(updated.map(e => [e.id, e.status])).toEqual([
      ['b', 'completed'],
      ['a', 'completed']
    ]);
    const added = upsertExecution(list, execution('c', '2026-11-29T10:00:00Z', 'pending'));
    expect(added.map(e => e.id)).toEqual(['c', 'b', 'a']);
  });

  it('sorts steps by number and secrets by name', () => {
    expect(sortSteps([step(3), step(1), step(2)]).map(s => s.number)).toEqual([1, 2, 3]);
    const meta = (name: string) => ({ name, scope: 'platform' as const, version: 1, created_at: '', updated_at: '' });
    expect(sortSecrets([meta('DB_PASS'), meta('API_KEY'), meta('DB_NAME')]).map(s => s.name)).toEqual([
      'API_KEY',
      'DB_NAME',
      'DB_PASS'
    ]);
  });
});

describe('durations', () => {
  it('formats seconds for people', () => {
    expect(formatDuration(null)).toBe('–');
    expect(formatDuration(undefined)).toBe('–');
    expect(formatDuration(-1)).toBe('–');
    expect(formatDuration(0.21)).toBe('0.21 s');
    expect(formatDuration(12.34)).toBe('12.3 s');
    expect(formatDuration(125)).toBe('2 min 5 s');
    expect(formatDuration(3725)).toBe('1 h 2 min');
  });

  it('uses the stored duration, or the time since start while running', () => {
    const now = Date.parse('2026-11-29T07:00:10Z');
    expect(liveDuration({ duration: 1.5, started_at: '2026-11-29T07:00:00Z' }, now)).toBe(1.5);
    expect(liveDuration({ duration: null, started_at: '2026-11-29T07:00:00Z' }, now)).toBe(10);
    expect(
      liveDuration(
        { duration: null, started_at: '2026-11-29T07:00:00Z', finished_at: '2026-11-29T07:00:02Z' },
        now
      )
    ).toBe(2);
    expect(liveDuration({ duration: null, started_at: null }, now)).toBeNull();
  });
});

describe('describeUpload', () => {
  it('summarises what an upload did', () => {
    expect(
      describeUpload({ scope: 'project', stored: ['A', 'B'], created: ['A'], updated: ['B'], deleted: [] })
    ).toBe('Stored 2 secrets (1 created, 1 updated).');
    expect(
      describeUpload({ scope: 'platform', stored: ['A'], created: [], updated: [], deleted: [] })
    ).toBe('Stored 1 secret.');
    expect(
      describeUpload({ scope: 'platform', stored: [], created: [], updated: [], deleted: ['X', 'Y'] })
    ).toBe('Stored 0 secrets (2 deleted).');
  });
});

describe('partitionPackageFiles', () => {
  const f = (name: string) => ({ name });

  it('drops empty script slots and keeps the order', () => {
    const result = partitionPackageFiles({ scripts: [f('b.py'), null, f('a.py')], secrets: null, config: null });
    expect(result).toEqual({ ok: true, scripts: [f('b.py'), f('a.py')], secrets: null, config: null });
  });

  it('sends secrets.json and config.json chosen as scripts as secrets and config', () => {
    const result = partitionPackageFiles({
      scripts: [f('test_secrets.py'), f('secrets.json'), f('Config.json')],
      secrets: null,
      config: null
    });
    expect(result).toEqual({
      ok: true,
      scripts: [f('test_secrets.py')],
      secrets: f('secrets.json'),
      config: f('Config.json')
    });
  });

  it('refuses two secrets.json, two config.json, or a script chosen twice', () => {
    expect(
      partitionPackageFiles({ scripts: [f('secrets.json')], secrets: f('secrets.json'), config: null })
    ).toMatchObject({ ok: false, message: expect.stringContaining('secrets.json') });
    expect(
      partitionPackageFiles({ scripts: [f('config.json')], secrets: null, config: f('config.json') })
    ).toMatchObject({ ok: false, message: expect.stringContaining('config.json') });
    expect(
      partitionPackageFiles({ scripts: [f('a.py'), f('a.py')], secrets: null, config: null })
    ).toMatchObject({ ok: false, message: expect.stringContaining('a.py') });
  });
});
