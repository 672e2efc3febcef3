import { parseAllDocuments } from 'yaml';
// @ts-expect-error -- a plain ESM script shared with CI's scripts/validate-deploy.mjs, typed below.
import { kustomizeBuild, kustomizeCommand } from '../../../scripts/validate-deploy/tools.mjs';
// @ts-expect-error -- as above.
import { deployWorkspace as untypedWorkspace } from '../../../scripts/validate-deploy/workspace.mjs';

/**
 * Renders the kustomize overlays as a user would, from a temporary copy of deploy/ in which the
 * generated, gitignored files (nats-auth/, token files, the console's session secret) are placeholders
 * when missing. `<overlay>+components` is the overlay with every optional component enabled.
 */

export type OverlayName = 'local' | 'production' | 'local+components' | 'production+components';

interface Workspace {
  deploy: string;
  /** `components`: the optional components the variant enables (none for the real overlays). */
  overlays: { name: OverlayName; dir: string; components: string[] }[];
  compose: string;
  remove: () => void;
}

export const deployWorkspace = untypedWorkspace as () => Workspace;

/** kustomize v5, or undefined (with the reason) when neither kubectl's nor Go to install one is here. */
export function findKustomize(): { command?: string[]; reason?: string } {
  try {
    return { command: (kustomizeCommand as () => string[])() };
  } catch (err) {
    return { reason: String(err) };
  }
}

/** Every document of an overlay, rendered. */
export function render(command: string[], ws: Workspace, overlay: OverlayName): unknown[] {
  const dir = ws.overlays.find((o) => o.name === overlay)?.dir;
  if (dir === undefined) throw new Error(`no overlay ${overlay}`);
  const text = (kustomizeBuild as (c: string[], d: string) => string)(command, dir);
  return parseAllDocuments(text).map((d) => d.toJS() as unknown);
}
