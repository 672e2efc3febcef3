import { html, type Html } from '@pipewright/kit';
import type { StepView } from '@pipewright/contracts';

const NODE_W = 168;
const NODE_H = 46;
const GAP_X = 64;
const GAP_Y = 18;
const PAD = 10;
/** Characters of a step id that fit in a box; longer ids are cut (the full id is in the tooltip). */
const ID_CHARS = 20;

export interface Placed {
  step: StepView;
  level: number;
  row: number;
}

/**
 * Places each step in a column by its dependency level (the longest chain of needs before it) and a
 * row within the column in the pipeline's order. Needs naming no step are ignored, and a cycle (which
 * a checked pipeline never has) cannot recurse forever: a step met again while placing it is level 0.
 */
export function layoutDag(steps: readonly StepView[]): Placed[] {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const levels = new Map<string, number>();
  const visiting = new Set<string>();
  const levelOf = (id: string): number => {
    const known = levels.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const needs = (byId.get(id)?.needs ?? []).filter((n) => byId.has(n));
    const level = needs.length === 0 ? 0 : 1 + Math.max(...needs.map(levelOf));
    visiting.delete(id);
    levels.set(id, level);
    return level;
  };
  const rows = new Map<number, number>();
  return steps.map((step) => {
    const level = levelOf(step.id);
    const row = rows.get(level) ?? 0;
    rows.set(level, row + 1);
    return { step, level, row };
  });
}

/** The pipeline as an SVG: a box per step (coloured by state, linking to its details), an arrow per need. */
export function dagSvg(steps: readonly StepView[]): Html {
  const placed = layoutDag(steps);
  if (placed.length === 0) return html``;
  const columns = Math.max(...placed.map((p) => p.level)) + 1;
  const rows = Math.max(...placed.map((p) => p.row)) + 1;
  const width = PAD * 2 + columns * NODE_W + (columns - 1) * GAP_X;
  const height = PAD * 2 + rows * NODE_H + (rows - 1) * GAP_Y;
  const at = new Map(placed.map((p) => [p.step.id, { x: PAD + p.level * (NODE_W + GAP_X), y: PAD + p.row * (NODE_H + GAP_Y) }]));
  const edges = placed.flatMap((p) =>
    p.step.needs.flatMap((need) => {
      const from = at.get(need);
      const to = at.get(p.step.id);
      if (!from || !to) return [];
      const x1 = from.x + NODE_W;
      const y1 = from.y + NODE_H / 2;
      const x2 = to.x - 4;
      const y2 = to.y + NODE_H / 2;
      const mid = (x1 + x2) / 2;
      return [html`<path class="edge" d="M${x1} ${y1} C${mid} ${y1} ${mid} ${y2} ${x2} ${y2}" marker-end="url(#arrow)"></path>`];
    }),
  );
  const nodes = placed.map((p) => {
    const { x, y } = at.get(p.step.id)!;
    const s = p.step;
    const id = s.id.length > ID_CHARS ? `${s.id.slice(0, ID_CHARS - 1)}…` : s.id;
    const detail = `${s.kind} · ${s.status}${s.attempt > 1 ? ` · attempt ${s.attempt}` : ''}${s.reused ? ' · reused' : ''}`;
    return html`<a href="#step-${s.id}" class="node st-${s.status}"><title>${s.id}: ${detail}</title><rect x="${x}" y="${y}" width="${NODE_W}" height="${NODE_H}" rx="7"></rect><text x="${x + 10}" y="${y + 19}" class="id">${id}</text><text x="${x + 10}" y="${y + 36}" class="detail">${detail}</text></a>`;
  });
  return html`<svg class="dag" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="the steps and what each needs">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" class="arrow"></path></marker></defs>
${edges}${nodes}</svg>`;
}
