import type {
  DeploymentJson,
  DeploymentRevisionJson,
  DeploymentRouteJson,
  PredictionJson,
  ShadowRouteJson,
  ShadowSummaryJson,
} from '@cairn/contract';
import { formatValue } from './data-format.js';
import { formatCount } from './models-format.js';
import { formatTime, renderTable } from './table.js';

/** Readable forms of deployments, revisions, predictions and shadow comparisons for `cairn deploy`. */

const version = (r: { model: string; version: number }): string => `${r.model}/${r.version}`;

/** `churn/3 90%, churn/4 10%` */
export function routeList(routes: readonly DeploymentRouteJson[]): string {
  return routes.length === 0 ? '-' : routes.map((r) => `${version(r)} ${r.weight}%`).join(', ');
}

/** `churn/5 (100%)`: the share of live requests each shadow sees. */
export function shadowList(shadows: readonly ShadowRouteJson[]): string {
  return shadows.length === 0 ? '-' : shadows.map((s) => `${version(s)} (${s.percent}%)`).join(', ');
}

/** `ready`, `loading (serving revision 2)`, `failed: <why>`. */
export function statusText(d: Pick<DeploymentJson, 'revision' | 'status'>): string {
  const { state, servedRevision, message } = d.status;
  const serving =
    servedRevision !== null && servedRevision !== d.revision ? ` (serving revision ${servedRevision})` : '';
  const why = message === null || message === '' ? '' : `: ${message}`;
  return `${state}${serving}${why}`;
}

/** `0.975` → `97.5%`; null (nothing compared yet) → `-`. */
export function formatRate(rate: number | null): string {
  return rate === null ? '-' : `${Number((rate * 100).toFixed(1))}%`;
}

export function formatLatency(ms: number | null): string {
  return ms === null ? '-' : `${formatValue(ms)} ms`;
}

/** An endpoint as a URL to curl: the server may answer with a path, taken against the URL the CLI talks to. */
export function endpointUrl(endpoint: string, serverUrl: string): string {
  try {
    return new URL(endpoint, `${serverUrl}/`).toString();
  } catch {
    return endpoint;
  }
}

const LABEL_WIDTH = 13;
const field = (label: string, value: string): string => `${`${label}:`.padEnd(LABEL_WIDTH)}${value}`;
const more = (value: string): string => `${' '.repeat(LABEL_WIDTH)}${value}`;
/** How the caller named the version, when that says more than `churn/3` does. */
const namedBy = (r: { ref: string; model: string; version: number }): string =>
  r.ref === version(r) ? '' : `  (${r.ref})`;

/** What `create`, `get`, `update` and `rollback` print: the revision now live and where to call it. */
export function deploymentSummary(d: DeploymentJson, serverUrl: string): string {
  const lines = [field('Deployment', `${d.name} (project ${d.project})`)];
  if (d.description.trim() !== '') lines.push(field('Description', d.description.split('\n')[0] ?? ''));
  lines.push(field('Revision', String(d.revision)));
  d.routes.forEach((r, i) => {
    const line = `${version(r)}  ${String(r.weight).padStart(3)}%${namedBy(r)}`;
    lines.push(i === 0 ? field('Routes', line) : more(line));
  });
  if (d.shadows.length === 0) lines.push(field('Shadows', '-'));
  d.shadows.forEach((s, i) => {
    const line = `${version(s)}  ${String(s.percent).padStart(3)}% of requests copied${namedBy(s)}`;
    lines.push(i === 0 ? field('Shadows', line) : more(line));
  });
  lines.push(
    field(
      'Follow',
      d.follow === null ? 'off' : `${d.follow.model}@${d.follow.alias} (a new revision when it moves)`,
    ),
    field('Status', statusText(d)),
    field(
      'Settings',
      `batches of up to ${d.settings.maxBatchSize}, waiting ${d.settings.maxBatchWaitMs} ms; ` +
        `queue ${formatCount(d.settings.maxQueue)}; logs ${formatRate(d.settings.sampleRate)} of requests`,
    ),
    field('Predict', endpointUrl(d.endpoints.predict, serverUrl)),
    more(`curl -s ${endpointUrl(d.endpoints.predict, serverUrl)} -H 'content-type: application/json' \\`),
    more(`  -d '{"instances": [...]}'`),
    field('V2', endpointUrl(d.endpoints.v2, serverUrl)),
  );
  if (d.endpoints.own !== null) lines.push(field('Own port', endpointUrl(d.endpoints.own, serverUrl)));
  return lines.join('\n');
}

export function deploymentsTable(deployments: readonly DeploymentJson[]): string {
  return renderTable(deployments, [
    { header: 'NAME', value: (d) => d.name, keep: true },
    { header: 'REVISION', value: (d) => String(d.revision), align: 'right', keep: true },
    { header: 'ROUTES', value: (d) => routeList(d.routes) },
    { header: 'STATUS', value: (d) => statusText(d) },
    { header: 'PORT', value: (d) => (d.port === null ? '-' : String(d.port)), align: 'right', keep: true },
  ]);
}

export function revisionsTable(revisions: readonly DeploymentRevisionJson[]): string {
  return renderTable(revisions, [
    { header: 'REV', value: (r) => String(r.revision), align: 'right', keep: true },
    { header: 'CURRENT', value: (r) => (r.current ? '*' : ''), keep: true },
    { header: 'REASON', value: (r) => r.reason },
    {
      header: 'ROUTES',
      value: (r) => routeList(r.routes) + (r.shadows.length === 0 ? '' : `; shadow ${shadowList(r.shadows)}`),
    },
    { header: 'WHEN', value: (r) => formatTime(r.createdAt), keep: true },
    { header: 'BY', value: (r) => r.createdBy },
  ]);
}

/** Compact JSON, cut to fit a table cell; `--json` has the whole value. */
function jsonCell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

export function predictionsTable(predictions: readonly PredictionJson[]): string {
  return renderTable(predictions, [
    { header: 'WHEN', value: (p) => formatTime(p.createdAt), keep: true },
    { header: 'REQUEST', value: (p) => p.requestId },
    { header: 'KIND', value: (p) => p.kind, keep: true },
    { header: 'VERSION', value: (p) => `${version(p)} (rev ${p.revision})` },
    { header: 'LATENCY', value: (p) => formatLatency(p.latencyMs), align: 'right', keep: true },
    { header: 'STATUS', value: (p) => (p.status === 'ok' ? 'ok' : `error: ${p.error ?? ''}`) },
    { header: 'OUTPUTS', value: (p) => jsonCell(p.outputs) },
    { header: 'AGREED', value: (p) => (p.agreed === null ? '-' : p.agreed ? 'yes' : 'no'), keep: true },
    { header: 'TRUTH', value: (p) => (p.truthAt === null ? '-' : jsonCell(p.truth)) },
  ]);
}

export function shadowTable(shadows: readonly ShadowSummaryJson[]): string {
  return renderTable(shadows, [
    { header: 'SHADOW', value: (s) => version(s) },
    { header: 'REQUESTS', value: (s) => formatCount(s.requests), align: 'right' },
    { header: 'ERRORS', value: (s) => formatCount(s.errors), align: 'right' },
    { header: 'COMPARED', value: (s) => formatCount(s.compared), align: 'right' },
    { header: 'AGREEMENT', value: (s) => formatRate(s.agreementRate), align: 'right' },
    { header: 'MEAN DIFF', value: (s) => formatValue(s.meanAbsDiff), align: 'right' },
    { header: 'MEAN LATENCY', value: (s) => formatLatency(s.meanLatencyMs), align: 'right' },
  ]);
}
