// Not client-node's dumpYaml: it re-serialises through typed models and drops enum, default and
// x-kubernetes-validations on schema nodes.
import { stringify } from 'yaml';
import { crds } from './crds.js';

const header = '# Generated from src/api/v1alpha1.ts by `npm run gen:crds`. Do not edit.\n';

/** crds/<group>_<plural>.yaml file name → content. */
export function renderCrdFiles(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(crds).map(([plural, obj]) => [
      `certroute.io_${plural}.yaml`,
      header + stringify(obj, { lineWidth: 0, aliasDuplicateObjects: false }),
    ]),
  );
}
