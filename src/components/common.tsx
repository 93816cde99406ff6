/**
 * Shared pieces of the DX panel's React views: the context, hooks that follow
 * the model and load data, and small presentational components.
 */
import { Time } from '@jupyterlab/coreutils';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import * as React from 'react';
import { errorMessage } from '../api';
import type { DXModel } from '../model';
import { statusLabel, statusTone } from '../state';

/** What every view of the panel can reach. */
export interface IDXContext {
  model: DXModel;
  trans: TranslationBundle;
  commands: CommandRegistry;
}

export const DXContext = React.createContext<IDXContext | null>(null);

/** The panel's context; views are only rendered inside the provider. */
export function useDX(): IDXContext {
  const context = React.useContext(DXContext);
  if (!context) {
    throw new Error('DX views must be rendered inside a DXContext provider.');
  }
  return context;
}

/** Re-render whenever the model changes; returns the model. */
export function useModel(): DXModel {
  const { model } = useDX();
  const [, setTick] = React.useState(0);
  React.useEffect(() => {
    const onChange = () => setTick(t => t + 1);
    model.changed.connect(onChange);
    return () => {
      model.changed.disconnect(onChange);
    };
  }, [model]);
  return model;
}

/** The state of an asynchronous load. */
export interface IAsyncState<T> {
  data: T | undefined;
  error: string | null;
  loading: boolean;
  /** Load again, keeping the current data on screen meanwhile. */
  reload: () => void;
  /** Replace the data (e.g. with the answer of an update). */
  setData: (data: T) => void;
}

/**
 * Load data with `load` whenever `deps` change. An answer that arrives after
 * newer deps were given is dropped.
 */
export function useAsync<T>(
  load: (() => Promise<T>) | null,
  deps: React.DependencyList
): IAsyncState<T> {
  const [data, setData] = React.useState<T | undefined>(undefined);
  const [error, setError] = React.useState<string | null>(null);
  const [loading, setLoading] = React.useState<boolean>(load !== null);
  const [nonce, setNonce] = React.useState(0);
  const generation = React.useRef(0);

  React.useEffect(() => {
    const current = ++generation.current;
    if (!load) {
      setData(undefined);
      setError(null);
      setLoading(false);
      return;
    }
    setLoading(true);
    load().then(
      value => {
        if (current === generation.current) {
          setData(value);
          setError(null);
          setLoading(false);
        }
      },
      reason => {
        if (current === generation.current) {
          setError(errorMessage(reason));
          setLoading(false);
        }
      }
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, nonce]);

  React.useEffect(() => {
    // Drop answers that arrive after unmount.
    return () => {
      generation.current++;
    };
  }, []);

  const reload = React.useCallback(() => setNonce(n => n + 1), []);
  return { data, error, loading, reload, setData };
}

/** A spinner-like line while something loads. */
export function Loading(props: { label?: string }): JSX.Element {
  const { trans } = useDX();
  return (
    <div className="dx-Loading" role="status" aria-live="polite" data-testid="dx-loading">
      <span className="dx-Loading-dot" aria-hidden="true" />
      {props.label ?? trans.__('Loading…')}
    </div>
  );
}

/** An error message shown inline, announced to assistive technology. */
export function ErrorMessage(props: {
  message: string | null | undefined;
  testId?: string;
  onRetry?: () => void;
}): JSX.Element | null {
  const { trans } = useDX();
  if (!props.message) {
    return null;
  }
  return (
    <div className="dx-Error" role="alert" data-testid={props.testId ?? 'dx-error'}>
      <span className="dx-Error-text">{props.message}</span>
      {props.onRetry && (
        <button
          type="button"
          className="dx-LinkButton"
          onClick={props.onRetry}
        >
          {trans.__('Retry')}
        </button>
      )}
    </div>
  );
}

/** A muted line for empty lists and hints. */
export function Empty(props: { children: React.ReactNode; testId?: string }): JSX.Element {
  return (
    <p className="dx-Empty" data-testid={props.testId}>
      {props.children}
    </p>
  );
}

/** A coloured badge with the label of a status. */
export function StatusBadge(props: { status: string; testId?: string }): JSX.Element {
  const { trans } = useDX();
  return (
    <span
      className={`dx-Status dx-Status-${statusTone(props.status)}`}
      data-status={props.status}
      data-testid={props.testId ?? 'dx-status'}
    >
      {trans.__(statusLabel(props.status))}
    </span>
  );
}

/** A time shown the human way, with the exact time as a tooltip. */
export function TimeAgo(props: {
  value: string | null | undefined;
  /** `narrow` ("8 sec. ago") fits table cells. */
  style?: 'long' | 'short' | 'narrow';
}): JSX.Element {
  if (!props.value) {
    return <span className="dx-Time">–</span>;
  }
  return (
    <time className="dx-Time" dateTime={props.value} title={Time.format(props.value)}>
      {Time.formatHuman(props.value, props.style ?? 'long')}
    </time>
  );
}

/** A titled section of a view. */
export function Section(props: {
  title: React.ReactNode;
  testId?: string;
  actions?: React.ReactNode;
  children: React.ReactNode;
  className?: string;
}): JSX.Element {
  const id = React.useId();
  return (
    <section
      className={`dx-Section ${props.className ?? ''}`}
      aria-labelledby={id}
      data-testid={props.testId}
    >
      <header className="dx-Section-header">
        <h3 id={id} className="dx-Section-title">
          {props.title}
        </h3>
        {props.actions && <div className="dx-Section-actions">{props.actions}</div>}
      </header>
      {props.children}
    </section>
  );
}
