/**
 * The DX icon, themed like JupyterLab's own icons.
 */
import { LabIcon } from '@jupyterlab/ui-components';
import dxSvgStr from '../style/icons/dx.svg';

export const dxIcon = new LabIcon({ name: 'dx-jupyter:dx', svgstr: dxSvgStr });
