/**
 * The Executions tab: a package's executions, newest first, and the details
 * of the selected one.
 */
import { Notification } from '@jupyterlab/apputils';
import { Button, runIcon } from '@jupyterlab/ui-components';
import * as React from 'react';
import { IExecution, IExecutionPage, errorMessage } from '../api';
import { Poller } from '../poller';
import { formatDuration, isFinalStatus, sortExecutions, upsertExecution } from '../state';
import { Empty, ErrorMessage, Loading, Section, StatusBadge, TimeAgo, useAsync, useDX, useModel } from './common';
import { ExecutionDetails } from './ExecutionDetails';

/** How many executions a page holds. */
const PAGE_SIZE = 20;

/** The executions of one package, with paging and live status. */
function ExecutionList(props: { project: string; pkg: string }): JSX.Element {
  const { trans } = useDX();
  const model = useModel();
  const [executions, setExecutions] = React.useState<IExecution[] | null>(null);
  const [total, setTotal] = React.useState(0);
  const [error, setError] = React.useState<string | null>(null);
  const [loadingMore, setLoadingMore] = React.useState(false);
  const [running, setRunning] = React.useState(false);
  const pollerRef = React.useRef<Poller<IExecutionPage> | null>(null);
  const selected = model.execution;
  const loadedCount = executions?.length ?? 0;

  // The first page, polled while one of its executions is not final.
  React.useEffect(() => {
    setExecutions(null);
    setError(null);
    const poller = new Poller<IExecutionPage>({
      load: () => model.client.listExecutions(props.project, props.pkg, { offset: 0, limit: PAGE_SIZE }),
      fingerprint: page =>
        `${page.total}|` + page.executions.map(e => `${e.id}:${e.status}`).join(','),
      isDone: page => page.executions.every(e => isFinalStatus(e.status)),
      onData: page => {
        setTotal(page.total);
        setError(null);
        setExecutions(current => {
          // Keep pages loaded with "Load more"; the first page wins for its items.
          let merged = sortExecutions(page.executions);
          for (const e of current ?? []) {
            if (!merged.some(m => m.id === e.id)) {
              merged = upsertExecution(merged, e);
            }
          }
          return merged;
        });
      },
      onError: e => setError(errorMessage(e))
    });
    pollerRef.current = poller;
    poller.start();
    return () => {
      poller.stop();
      pollerRef.current = null;
    };
  }, [props.project, props.pkg, model.revision]);

  const loadMore = async () => {
    setLoadingMore(true);
    try {
      const page = await model.client.listExecutions(props.project, props.pkg, {
        offset: loadedCount,
        limit: PAGE_SIZE
      });
      setTotal(page.total);
      setExecutions(current =>
        page.executions.reduce((list, e) => upsertExecution(list, e), current ?? [])
      );
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setLoadingMore(false);
    }
  };

  const onRun = async () => {
    setRunning(true);
    try {
      const execution = await model.client.runPackage(props.project, props.pkg);
      Notification.info(trans.__('Execution of "%1" started.', props.pkg), { autoClose: 3000 });
      setExecutions(current => upsertExecution(current ?? [], execution));
      setTotal(t => t + 1);
      model.selectExecution(execution.id);
      // The list stops polling once all is final: start again for the new run.
      pollerRef.current?.poke();
    } catch (e) {
      Notification.error(trans.__('Could not run "%1": %2', props.pkg, errorMessage(e)));
    } finally {
      setRunning(false);
    }
  };

  const onDetailsUpdate = React.useCallback((execution: IExecution) => {
    setExecutions(current =>
      current && current.some(e => e.id === execution.id)
        ? upsertExecution(current, execution)
        : current
    );
  }, []);

  return (
    <>
      <Section
        title={trans.__('Executions of %1', props.pkg)}
        testId="dx-execution-list-section"
        actions={
          <Button
            type="button"
            className="jp-mod-styled jp-mod-accept dx-Button-withIcon"
            onClick={() => void onRun()}
            disabled={running}
            data-testid="dx-execution-run"
          >
            <runIcon.react tag="span" aria-hidden="true" />
            {running ? trans.__('Starting…') : trans.__('Run')}
          </Button>
        }
      >
        {executions === null && !error && <Loading />}
        <ErrorMessage message={error} />
        {executions !== null && executions.length === 0 && (
          <Empty testId="dx-executions-empty">
            {trans.__('No executions yet. Click Run to start one.')}
          </Empty>
        )}
        {executions !== null && executions.length > 0 && (
          <table className="dx-Table dx-Table-selectable" data-testid="dx-execution-list">
            <thead>
              <tr>
                <th scope="col">{trans.__('Status')}</th>
                <th scope="col">{trans.__('Created')}</th>
                <th scope="col">{trans.__('Duration')}</th>
                <th scope="col" className="dx-Col-optional">
                  {trans.__('Trigger')}
                </th>
              </tr>
            </thead>
            <tbody>
              {executions.map(e => (
                <tr
                  key={e.id}
                  className={e.id === selected ? 'dx-mod-selected' : ''}
                  aria-selected={e.id === selected}
                  data-testid="dx-execution-item"
                  data-execution={e.id}
                  data-status={e.status}
                >
                  <td>
                    <button
                      type="button"
                      className="dx-RowButton"
                      onClick={() => model.selectExecution(e.id === selected ? null : e.id)}
                      aria-label={trans.__('Show the details of the execution created %1', e.created_at)}
                      data-testid="dx-execution-open"
                    >
                      <StatusBadge status={e.status} />
                    </button>
                  </td>
                  <td>
                    <TimeAgo value={e.created_at} style="narrow" />
                  </td>
                  <td className="dx-Nowrap">{formatDuration(e.duration)}</td>
                  <td className="dx-Col-optional">{e.trigger}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {executions !== null && loadedCount < total && (
          <Button
            type="button"
            minimal
            onClick={() => void loadMore()}
            disabled={loadingMore}
            data-testid="dx-executions-more"
          >
            {loadingMore
              ? trans.__('Loading…')
              : trans.__('Load more (%1 of %2 shown)', loadedCount, total)}
          </Button>
        )}
      </Section>
      {selected && (
        <ExecutionDetails key={selected} execution={selected} onUpdate={onDetailsUpdate} />
      )}
    </>
  );
}

/** The Executions tab. */
export function ExecutionsView(): JSX.Element {
  const { trans } = useDX();
  const model = useModel();
  const project = model.project;
  const packages = useAsync(
    project ? () => model.client.listPackages(project) : null,
    [project, model.revision]
  );
  const pkg = model.executionsPackage;
  const list = packages.data;

  if (!project) {
    return (
      <div className="dx-View" data-testid="dx-executions-view">
        <Empty testId="dx-no-project">
          {trans.__('Select or create a project first (Projects tab).')}
        </Empty>
      </div>
    );
  }
  return (
    <div className="dx-View" data-testid="dx-executions-view">
      <div className="dx-Toolbar">
        <label className="dx-Inline dx-Grow">
          <span>{trans.__('Package')}</span>
          <select
            className="jp-mod-styled dx-Select dx-Grow"
            value={pkg ?? ''}
            onChange={e => model.showExecutions(e.target.value || null)}
            disabled={!list}
            data-testid="dx-execution-package"
          >
            <option value="">{trans.__('Choose a package…')}</option>
            {/* Keep the chosen package selectable while the list loads. */}
            {pkg && !list?.some(p => p.name === pkg) && <option value={pkg}>{pkg}</option>}
            {(list ?? []).map(p => (
              <option key={p.id} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        {pkg && (
          <Button
            type="button"
            minimal
            small
            onClick={() => model.showPackage(pkg)}
            data-testid="dx-execution-package-details"
          >
            {trans.__('Package details')}
          </Button>
        )}
      </div>
      {packages.loading && !list && <Loading />}
      <ErrorMessage message={packages.error} onRetry={packages.reload} />
      {list && list.length === 0 && (
        <Empty testId="dx-packages-empty">{trans.__('This project has no packages yet.')}</Empty>
      )}
      {pkg ? (
        <ExecutionList key={`${project}/${pkg}`} project={project} pkg={pkg} />
      ) : (
        list &&
        list.length > 0 && <Empty>{trans.__('Choose a package to see its executions.')}</Empty>
      )}
    </div>
  );
}
