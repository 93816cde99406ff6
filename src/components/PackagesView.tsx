/**
 * The Packages tab: the packages of the selected project with a search box,
 * and the add form or a package's details in place of the list.
 */
import { Button, InputGroup, addIcon, searchIcon } from '@jupyterlab/ui-components';
import * as React from 'react';
import { IPackage } from '../api';
import { Empty, ErrorMessage, Loading, Section, TimeAgo, useAsync, useDX, useModel } from './common';
import { PackageDetails } from './PackageDetails';
import { PackageForm } from './PackageForm';

/** How long the search box waits after the last key before it asks the server. */
const SEARCH_DEBOUNCE_MS = 250;

/** A value that follows `value` after it stayed unchanged for `delay` ms. */
function useDebounced<T>(value: T, delay: number): T {
  const [debounced, setDebounced] = React.useState(value);
  React.useEffect(() => {
    const handle = window.setTimeout(() => setDebounced(value), delay);
    return () => window.clearTimeout(handle);
  }, [value, delay]);
  return debounced;
}

/** One package in the list. */
function PackageItem(props: { pkg: IPackage }): JSX.Element {
  const { trans } = useDX();
  const model = useModel();
  const { pkg } = props;
  const count = pkg.scripts?.length ?? 0;
  return (
    <li className="dx-ListItem" data-testid="dx-package-item" data-name={pkg.name}>
      <button
        type="button"
        className="dx-ListItem-main"
        onClick={() => model.showPackage(pkg.name)}
        title={trans.__('Open the details of %1', pkg.name)}
        aria-label={trans.__('Open package %1', pkg.name)}
        data-testid="dx-package-open"
      >
        <span className="dx-ListItem-title">{pkg.name}</span>
        {pkg.description && <span className="dx-ListItem-subtitle">{pkg.description}</span>}
        <span className="dx-ListItem-meta">
          {trans._n('%1 script', '%1 scripts', count)} · {trans.__('updated')}{' '}
          <TimeAgo value={pkg.updated_at} />
        </span>
      </button>
      <searchIcon.react tag="span" className="dx-ListItem-icon" aria-hidden="true" />
    </li>
  );
}

/** The list of packages of a project, with search. */
function PackageList(props: { project: string }): JSX.Element {
  const { trans } = useDX();
  const model = useModel();
  const [query, setQuery] = React.useState('');
  const q = useDebounced(query.trim(), SEARCH_DEBOUNCE_MS);
  const packages = useAsync(
    () => model.client.listPackages(props.project, q),
    [props.project, q, model.revision]
  );
  const list = packages.data;

  return (
    <div className="dx-View" data-testid="dx-packages-view">
      <div className="dx-Toolbar">
        <InputGroup
          type="search"
          className="dx-Search"
          value={query}
          onChange={e => setQuery(e.target.value)}
          placeholder={trans.__('Search packages')}
          aria-label={trans.__('Search packages by name')}
          rightIcon="ui-components:search"
          data-testid="dx-package-search"
        />
        <Button
          className="jp-mod-styled jp-mod-accept dx-Button-withIcon"
          onClick={() => model.showAddPackage()}
          data-testid="dx-package-add"
          title={trans.__('Add a package to %1', props.project)}
        >
          <addIcon.react tag="span" aria-hidden="true" />
          {trans.__('Add')}
        </Button>
      </div>
      <Section title={trans.__('Packages of %1', props.project)}>
        {packages.loading && list === undefined && <Loading />}
        <ErrorMessage message={packages.error} onRetry={packages.reload} />
        {list !== undefined && list.length === 0 && (
          <Empty testId="dx-packages-empty">
            {q
              ? trans.__('No package matches "%1".', q)
              : trans.__('No packages yet. Click Add to create one.')}
          </Empty>
        )}
        {list !== undefined && list.length > 0 && (
          <ul
            className={`dx-List ${packages.loading ? 'dx-mod-stale' : ''}`}
            data-testid="dx-package-list"
            aria-busy={packages.loading}
            aria-label={trans.__('Packages')}
          >
            {list.map(p => (
              <PackageItem key={p.id} pkg={p} />
            ))}
          </ul>
        )}
      </Section>
    </div>
  );
}

/** The Packages tab. */
export function PackagesView(): JSX.Element {
  const { trans } = useDX();
  const model = useModel();
  const project = model.project;
  if (!project) {
    return (
      <div className="dx-View" data-testid="dx-packages-view">
        <Empty testId="dx-no-project">
          {trans.__('Select or create a project first (Projects tab).')}
        </Empty>
      </div>
    );
  }
  const view = model.packagesView;
  switch (view.kind) {
    case 'add':
      return <PackageForm key={project} project={project} />;
    case 'details':
      return (
        <PackageDetails key={`${project}/${view.package}`} project={project} pkg={view.package} />
      );
    default:
      return <PackageList key={project} project={project} />;
  }
}
