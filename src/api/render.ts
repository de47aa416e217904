import { dumpYaml } from '@kubernetes/client-node';
import { crds } from './crds.js';

const header = '# Generated from src/api/v1alpha1.ts by `npm run gen:crds`. Do not edit.\n';

/** crds/<group>_<plural>.yaml file name → content. */
export function renderCrdFiles(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(crds).map(([plural, obj]) => [
      `certroute.io_${plural}.yaml`,
      header + dumpYaml(obj, { lineWidth: -1, noRefs: true }),
    ]),
  );
}
