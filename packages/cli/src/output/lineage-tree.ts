import type { LineageGraph, LineageNode, LineageRelation } from '@cairn/contract';
import { formatTime } from './table.js';
import { shortDigest } from './models-format.js';

/** How the parent line reads each relation of an incoming edge (`from <relation> to`). */
const ARRIVES_AS: Record<LineageRelation, string> = {
  produced: 'produced by',
  input: 'input',
  parent: 'parent',
  source_code: 'code',
  deployed: 'deployed from',
  step: 'step of',
};

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : undefined;

/** One line per node: what it is, its name, and the few attributes a person checks. */
export function describeNode(node: LineageNode): string {
  const a = node.attributes;
  const details = (parts: Array<string | undefined>): string => {
    const kept = parts.filter((p): p is string => p !== undefined);
    return kept.length === 0 ? '' : ` (${kept.join(', ')})`;
  };
  switch (node.kind) {
    case 'model_version':
      return `model version ${node.label}${details([text(a['format']), text(a['digest']) && shortDigest(String(a['digest']))])}`;
    case 'run':
      return `run ${node.label}${details([
        node.id,
        text(a['status']),
        text(a['experimentName']) === undefined ? undefined : `experiment ${String(a['experimentName'])}`,
        typeof a['startTime'] === 'number' ? `started ${formatTime(a['startTime'])}` : undefined,
      ])}`;
    case 'dataset':
      return `dataset ${node.label}${details([
        text(a['digest']) === undefined ? undefined : `digest ${String(a['digest'])}`,
        text(a['source']),
      ])}`;
    case 'code_version':
      return `code commit ${text(a['commit']) ?? node.label}`;
    default:
      return `${node.kind.replaceAll('_', ' ')} ${node.label}${node.label === node.id ? '' : details([node.id])}`;
  }
}

/**
 * The provenance as an indented tree, the root first and what it came from
 * below it: model version ← run ← datasets, parent runs, code versions. A node
 * reached twice is printed once and then referred to.
 */
export function renderLineageTree(graph: LineageGraph): string {
  const key = (n: { kind: string; id: string }): string => `${n.kind}:${n.id}`;
  const nodes = new Map(graph.nodes.map((n) => [key(n), n]));
  const incoming = new Map<string, Array<{ from: string; relation: LineageRelation }>>();
  for (const edge of graph.edges) {
    const list = incoming.get(key(edge.to)) ?? [];
    list.push({ from: key(edge.from), relation: edge.relation });
    incoming.set(key(edge.to), list);
  }
  const label = (k: string): string => {
    const node = nodes.get(k);
    return node === undefined ? k : describeNode(node);
  };
  const lines = [label(key(graph.root))];
  const printed = new Set([key(graph.root)]);
  const walk = (k: string, prefix: string): void => {
    const children = incoming.get(k) ?? [];
    children.forEach((child, i) => {
      const last = i === children.length - 1;
      const seen = printed.has(child.from);
      lines.push(
        `${prefix}${last ? '└─ ' : '├─ '}${ARRIVES_AS[child.relation]}: ${label(child.from)}${seen ? ' (see above)' : ''}`,
      );
      if (seen) return;
      printed.add(child.from);
      walk(child.from, `${prefix}${last ? '   ' : '│  '}`);
    });
  };
  walk(key(graph.root), '');
  if (graph.edges.length === 0) lines.push('└─ (no recorded provenance: not registered from a run)');
  if (graph.truncated) lines.push(`(cut at ${graph.edges.length} edges; --json has what was walked)`);
  return lines.join('\n');
}
