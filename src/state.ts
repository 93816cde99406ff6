/**
 * Pure state logic of the DX panel: statuses, polling backoff, sorting and
 * formatting. Nothing here touches the DOM or the network.
 */
import type {
  ExecutionStatus,
  IExecution,
  ISecretMeta,
  ISecretsUploadResult,
  IStep,
  StepStatus
} from './api';

/** Execution statuses after which nothing changes any more. */
const FINAL_EXECUTION_STATUSES: ReadonlySet<string> = new Set([
  'completed',
  'failed',
  'cancelled'
]);

/** Step statuses after which nothing changes any more. */
const FINAL_STEP_STATUSES: ReadonlySet<string> = new Set([
  'completed',
  'failed',
  'unprocessed'
]);

/** Whether an execution reached a final status. */
export function isFinalStatus(status: ExecutionStatus | string): boolean {
  return FINAL_EXECUTION_STATUSES.has(status);
}

/** Whether a step reached a final status. */
export function isFinalStepStatus(status: StepStatus | string): boolean {
  return FINAL_STEP_STATUSES.has(status);
}

/** Whether an execution may be cancelled (it is not final yet). */
export function canCancel(execution: Pick<IExecution, 'status'>): boolean {
  return !isFinalStatus(execution.status);
}

/** Whether a step has a result worth showing (it started). */
export function hasResult(step: Pick<IStep, 'status' | 'started_at'>): boolean {
  return (
    step.status === 'completed' ||
    step.status === 'failed' ||
    step.status === 'in_progress' ||
    (step.started_at !== null && step.started_at !== undefined)
  );
}

const STATUS_LABELS: Record<string, string> = {
  pending: 'Pending',
  in_progress: 'In progress',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
  unprocessed: 'Unprocessed'
};

/** A human label of an execution or step status. */
export function statusLabel(status: string): string {
  return (
    STATUS_LABELS[status] ??
    status.replace(/_/g, ' ').replace(/^./, c => c.toUpperCase())
  );
}

/** The tone of a status, for its badge colour. */
export type StatusTone = 'neutral' | 'running' | 'success' | 'error' | 'muted';

/** The tone of an execution or step status. */
export function statusTone(status: string): StatusTone {
  switch (status) {
    case 'completed':
      return 'success';
    case 'failed':
      return 'error';
    case 'in_progress':
      return 'running';
    case 'cancelled':
    case 'unprocessed':
      return 'muted';
    default:
      return 'neutral';
  }
}

/** Options of the polling backoff. */
export interface IBackoffOptions {
  /** The first delay, in milliseconds. */
  initial: number;
  /** The factor each unchanged poll multiplies the delay by. */
  factor: number;
  /** The longest delay, in milliseconds. */
  max: number;
}

/** The default backoff: 0.5 s, then ×1.5 while nothing changes, at most 5 s. */
export const DEFAULT_BACKOFF: IBackoffOptions = {
  initial: 500,
  factor: 1.5,
  max: 5000
};

/**
 * The delay before the next poll.
 *
 * @param previous - the previous delay, or `null` for the first poll.
 * @param changed - whether the last poll saw a change; a change resets the
 *   delay to `initial` so that a live run stays responsive.
 */
export function nextPollDelay(
  previous: number | null,
  changed: boolean,
  options: IBackoffOptions = DEFAULT_BACKOFF
): number {
  if (previous === null || changed) {
    return options.initial;
  }
  return Math.min(options.max, Math.round(previous * options.factor));
}

/**
 * A fingerprint of what the UI shows of an execution: two fingerprints differ
 * when a poll brought something new.
 */
export function executionFingerprint(execution: IExecution): string {
  const steps = [...(execution.steps ?? [])]
    .sort((a, b) => a.number - b.number)
    .map(s => `${s.number}:${s.status}:${s.exit_code ?? ''}:${s.finished_at ?? ''}`)
    .join(',');
  return `${execution.status}|${execution.status_message}|${execution.finished_at ?? ''}|${steps}`;
}

/** Milliseconds since the epoch of an ISO time, `NaN` if missing. */
function time(value: string | null | undefined): number {
  return value ? Date.parse(value) : NaN;
}

/** Executions sorted newest first (by creation time, then id), as a new array. */
export function sortExecutions(executions: readonly IExecution[]): IExecution[] {
  return [...executions].sort((a, b) => {
    const ta = time(a.created_at);
    const tb = time(b.created_at);
    if (ta !== tb && !isNaN(ta) && !isNaN(tb)) {
      return tb - ta;
    }
    return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
  });
}

/** Steps in run order, as a new array. */
export function sortSteps(steps: readonly IStep[]): IStep[] {
  return [...steps].sort((a, b) => a.number - b.number);
}

/** Put an updated execution into a list (replacing the one with its id), newest first. */
export function upsertExecution(
  executions: readonly IExecution[],
  execution: IExecution
): IExecution[] {
  const others = executions.filter(e => e.id !== execution.id);
  return sortExecutions([execution, ...others]);
}

/** Secrets sorted by name. */
export function sortSecrets(secrets: readonly ISecretMeta[]): ISecretMeta[] {
  return [...secrets].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * A duration in seconds as text: "0.21 s", "12.3 s", "2 min 5 s", "1 h 2 min".
 * Missing durations are shown as an en dash.
 */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !isFinite(seconds) || seconds < 0) {
    return '–';
  }
  if (seconds < 10) {
    return `${seconds.toFixed(2)} s`;
  }
  if (seconds < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  const total = Math.round(seconds);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = total % 60;
  if (hours > 0) {
    return `${hours} h ${minutes} min`;
  }
  return `${minutes} min ${secs} s`;
}

/**
 * The duration of a step or an execution: the stored one when final, else the
 * time elapsed since it started.
 */
export function liveDuration(
  item: { duration: number | null; started_at: string | null; finished_at?: string | null },
  now: number = Date.now()
): number | null {
  if (item.duration !== null && item.duration !== undefined) {
    return item.duration;
  }
  const started = time(item.started_at);
  if (isNaN(started)) {
    return null;
  }
  const finished = time(item.finished_at ?? null);
  const end = isNaN(finished) ? now : finished;
  return Math.max(0, (end - started) / 1000);
}

/** A short description of an upload result. */
export function describeUpload(result: ISecretsUploadResult): string {
  const parts: string[] = [];
  if (result.created?.length) {
    parts.push(`${result.created.length} created`);
  }
  if (result.updated?.length) {
    parts.push(`${result.updated.length} updated`);
  }
  if (result.deleted?.length) {
    parts.push(`${result.deleted.length} deleted`);
  }
  const stored = result.stored?.length ?? 0;
  const noun = stored === 1 ? 'secret' : 'secrets';
  return parts.length
    ? `Stored ${stored} ${noun} (${parts.join(', ')}).`
    : `Stored ${stored} ${noun}.`;
}

/** The files of the package form, as chosen by the user. */
export interface IPackageFiles<F extends { name: string }> {
  scripts: (F | null)[];
  secrets: F | null;
  config: F | null;
}

/** The files to send, or the reason they cannot be sent. */
export type PackageFilesResult<F> =
  | { ok: true; scripts: F[]; secrets: F | null; config: F | null }
  | { ok: false; message: string };

/**
 * Sort the files chosen in the package form into scripts, `secrets.json` and
 * `config.json`.
 *
 * Empty script slots are dropped. As on the DX platform's own form, a file named
 * `secrets.json` or `config.json` chosen in a script slot is sent as the
 * package's secrets or config, never as a script.
 */
export function partitionPackageFiles<F extends { name: string }>(
  files: IPackageFiles<F>
): PackageFilesResult<F> {
  let secrets = files.secrets;
  let config = files.config;
  const scripts: F[] = [];
  const seen = new Set<string>();
  for (const file of files.scripts) {
    if (!file) {
      continue;
    }
    const lower = file.name.toLowerCase();
    if (lower === 'secrets.json') {
      if (secrets) {
        return { ok: false, message: 'Choose only one secrets.json.' };
      }
      secrets = file;
      continue;
    }
    if (lower === 'config.json') {
      if (config) {
        return { ok: false, message: 'Choose only one config.json.' };
      }
      config = file;
      continue;
    }
    if (seen.has(file.name)) {
      return {
        ok: false,
        message: `The script "${file.name}" is chosen twice.`
      };
    }
    seen.add(file.name);
    scripts.push(file);
  }
  return { ok: true, scripts, secrets, config };
}

/** The tabs of the DX sidebar. */
export type DXTab = 'projects' | 'packages' | 'executions' | 'secrets';

/** The tabs in display order. */
export const TABS: readonly DXTab[] = ['projects', 'packages', 'executions', 'secrets'];
