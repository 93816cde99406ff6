/**
 * The details of one execution: status, times, parameters, Cancel while it
 * runs, and the steps (updated live) with "Show Results" per step.
 */
import { Notification } from '@jupyterlab/apputils';
import { Button, stopIcon } from '@jupyterlab/ui-components';
import * as React from 'react';
import { IExecution, IStep, errorMessage } from '../api';
import { Poller } from '../poller';
import {
  canCancel,
  executionFingerprint,
  formatDuration,
  hasResult,
  isFinalStatus,
  isFinalStepStatus,
  liveDuration,
  sortSteps
} from '../state';
import { ErrorMessage, Loading, Section, StatusBadge, TimeAgo, useAsync, useDX, useModel } from './common';

/** The current time, updated every second while `active`. */
function useNow(active: boolean): number {
  const [now, setNow] = React.useState(() => Date.now());
  React.useEffect(() => {
    if (!active) {
      return;
    }
    const handle = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(handle);
  }, [active]);
  return now;
}

/** The (redacted) output of one step. */
function StepResult(props: { execution: string; step: IStep }): JSX.Element {
  const { trans } = useDX();
  const model = useModel();
  const { step } = props;
  // Load again when the step moves on, so a finished step shows its full output.
  const result = useAsync(
    () => model.client.getStepResult(props.execution, step.number),
    [props.execution, step.number, step.status, step.finished_at]
  );
  const data = result.data;
  return (
    <div
      className="dx-StepResult"
      id={`dx-step-result-${props.execution}-${step.number}`}
      data-testid="dx-step-result"
      data-step={step.number}
    >
      {result.loading && !data && <Loading label={trans.__('Loading results…')} />}
      <ErrorMessage message={result.error} onRetry={result.reload} />
      {data && (
        <>
          <div className="dx-StepResult-meta">
            <span>
              {trans.__('Exit code')}: <strong>{data.exit_code ?? '–'}</strong>
            </span>
            {data.redacted && (
              <span
                className="dx-Tag"
                title={trans.__('Secret values were replaced by [REDACTED]')}
                data-testid="dx-step-redacted"
              >
                {trans.__('redacted')}
              </span>
            )}
            {data.truncated && (
              <span className="dx-Tag dx-Tag-warn" data-testid="dx-step-truncated">
                {trans.__('truncated')}
              </span>
            )}
          </div>
          <pre
            className="dx-Output"
            data-testid="dx-step-output"
            tabIndex={0}
            aria-label={trans.__('Output of step %1', step.number)}
          >
            {data.output || trans.__('(no output)')}
          </pre>
        </>
      )}
    </div>
  );
}

/** The steps of an execution, with a result panel per step. */
function StepsTable(props: { execution: IExecution; now: number }): JSX.Element {
  const { trans } = useDX();
  const [open, setOpen] = React.useState<ReadonlySet<number>>(new Set());
  const steps = sortSteps(props.execution.steps ?? []);
  const toggle = (n: number) =>
    setOpen(current => {
      const next = new Set(current);
      if (next.has(n)) {
        next.delete(n);
      } else {
        next.add(n);
      }
      return next;
    });

  if (!steps.length) {
    return <p className="dx-Empty">{trans.__('No steps yet.')}</p>;
  }
  return (
    <ol className="dx-Steps" data-testid="dx-steps" aria-live="polite">
      {steps.map(step => {
        const isOpen = open.has(step.number);
        const resultId = `dx-step-result-${props.execution.id}-${step.number}`;
        return (
          <li
            key={step.number}
            className="dx-Step"
            data-testid="dx-step-row"
            data-step={step.number}
            data-script={step.script}
            data-status={step.status}
          >
            <div className="dx-Step-line">
              <span className="dx-Step-order" aria-label={trans.__('Step %1', step.number)}>
                {step.number}
              </span>
              <span className="dx-Step-script dx-Mono" data-testid="dx-step-script">
                {step.script}
              </span>
              <StatusBadge status={step.status} testId="dx-step-status" />
              <span className="dx-Step-duration" data-testid="dx-step-duration">
                {formatDuration(
                  isFinalStepStatus(step.status) ? step.duration : liveDuration(step, props.now)
                )}
              </span>
              <Button
                type="button"
                minimal
                small
                onClick={() => toggle(step.number)}
                disabled={!hasResult(step)}
                aria-expanded={isOpen}
                aria-controls={isOpen ? resultId : undefined}
                data-testid="dx-step-show-results"
              >
                {isOpen ? trans.__('Hide Results') : trans.__('Show Results')}
              </Button>
            </div>
            {isOpen && <StepResult execution={props.execution.id} step={step} />}
          </li>
        );
      })}
    </ol>
  );
}

export function ExecutionDetails(props: {
  execution: string;
  onUpdate?: (execution: IExecution) => void;
}): JSX.Element {
  const { trans } = useDX();
  const model = useModel();
  const [execution, setExecution] = React.useState<IExecution | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [cancelling, setCancelling] = React.useState(false);
  const pollerRef = React.useRef<Poller<IExecution> | null>(null);
  const onUpdate = React.useRef(props.onUpdate);
  onUpdate.current = props.onUpdate;

  React.useEffect(() => {
    setExecution(null);
    setError(null);
    const poller = new Poller<IExecution>({
      load: () => model.client.getExecution(props.execution),
      fingerprint: executionFingerprint,
      isDone: e => isFinalStatus(e.status),
      onData: e => {
        setExecution(e);
        setError(null);
        onUpdate.current?.(e);
      },
      onError: e => setError(errorMessage(e))
    });
    pollerRef.current = poller;
    poller.start();
    return () => {
      poller.stop();
      pollerRef.current = null;
    };
  }, [props.execution, model.revision]);

  const running = execution !== null && !isFinalStatus(execution.status);
  const now = useNow(running);

  const onCancel = async () => {
    setCancelling(true);
    try {
      const updated = await model.client.cancelExecution(props.execution);
      setExecution(updated);
      props.onUpdate?.(updated);
      Notification.info(trans.__('Cancellation requested.'), { autoClose: 3000 });
    } catch (e) {
      Notification.error(trans.__('Could not cancel: %1', errorMessage(e)));
    } finally {
      setCancelling(false);
      pollerRef.current?.poke();
    }
  };

  return (
    <Section
      title={trans.__('Execution details')}
      testId="dx-execution-details"
      className="dx-ExecutionDetails"
      actions={
        execution && canCancel(execution) ? (
          <Button
            type="button"
            className="jp-mod-styled jp-mod-warn dx-Button-withIcon"
            onClick={() => void onCancel()}
            disabled={cancelling}
            data-testid="dx-execution-cancel"
          >
            <stopIcon.react tag="span" aria-hidden="true" />
            {cancelling ? trans.__('Cancelling…') : trans.__('Cancel')}
          </Button>
        ) : undefined
      }
    >
      {!execution && !error && <Loading />}
      <ErrorMessage message={error} onRetry={() => pollerRef.current?.poke()} />
      {execution && (
        <div data-execution={execution.id} data-status={execution.status}>
          <dl className="dx-Properties">
            <dt>{trans.__('Status')}</dt>
            <dd>
              <StatusBadge status={execution.status} testId="dx-execution-status" />
              {running && (
                <span className="dx-Polling" title={trans.__('Updating live')}>
                  {trans.__('live')}
                </span>
              )}
            </dd>
            {execution.status_message && (
              <>
                <dt>{trans.__('Message')}</dt>
                <dd data-testid="dx-execution-message">{execution.status_message}</dd>
              </>
            )}
            <dt>{trans.__('Trigger')}</dt>
            <dd>{execution.trigger}</dd>
            <dt>{trans.__('Created')}</dt>
            <dd>
              <TimeAgo value={execution.created_at} />
            </dd>
            <dt>{trans.__('Duration')}</dt>
            <dd data-testid="dx-execution-duration">
              {formatDuration(running ? liveDuration(execution, now) : execution.duration)}
            </dd>
            <dt>{trans.__('Id')}</dt>
            <dd className="dx-Mono dx-Ellipsis" title={execution.id}>
              {execution.id}
            </dd>
          </dl>
          {Object.keys(execution.params ?? {}).length > 0 && (
            <details className="dx-Params">
              <summary>{trans.__('Parameters')}</summary>
              <pre className="dx-Code">{JSON.stringify(execution.params, null, 2)}</pre>
            </details>
          )}
          <h4 className="dx-Subtitle">{trans.__('Steps')}</h4>
          <StepsTable execution={execution} now={now} />
        </div>
      )}
    </Section>
  );
}
