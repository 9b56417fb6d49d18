import { Value } from '@sinclair/typebox/value';
import { OpenLineageRunEvent } from '@cairn/contract';
import { describe, expect, it } from 'vitest';
import type { LineageGraph, LineageNode } from './lineage-graph.js';
import { locationOf, OPENLINEAGE_SCHEMA_URL, toOpenLineageEvents, toRunUuid } from './openlineage.js';

const OPTIONS = { namespace: 'cairn', producer: 'urn:cairn:server', now: Date.UTC(2026, 10, 27) };
const RUN = '0123456789abcdef0123456789abcdef';
const PARENT = 'fedcba9876543210fedcba9876543210';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const run = (id: string, attributes: Record<string, unknown>): LineageNode => ({
  kind: 'run',
  id,
  label: `run ${id.slice(0, 4)}`,
  attributes,
});

function graph(nodes: LineageNode[], edges: Array<[LineageNode, string, LineageNode]>): LineageGraph {
  return {
    root: { kind: nodes[0]!.kind, id: nodes[0]!.id },
    nodes,
    edges: edges.map(([from, relation, to], i) => ({
      from: { kind: from.kind, id: from.id },
      to: { kind: to.kind, id: to.id },
      relation: relation as 'input',
      depth: i + 1,
      createdAt: 0,
    })),
    truncated: false,
  };
}

describe('toRunUuid', () => {
  it('re-punctuates a 32-hex run id', () => {
    expect(toRunUuid(RUN)).toBe('01234567-89ab-cdef-0123-456789abcdef');
    expect(toRunUuid(RUN.toUpperCase())).toBe('01234567-89ab-cdef-0123-456789abcdef');
  });

  it('keeps a UUID as it is', () => {
    expect(toRunUuid('3b452093-782c-4ef2-9c0c-aafe2aa6f34d')).toBe('3b452093-782c-4ef2-9c0c-aafe2aa6f34d');
  });

  it('gives any other id a stable version-5 UUID', () => {
    const a = toRunUuid('step-7');
    expect(a).toMatch(UUID);
    expect(a[14]).toBe('5');
    expect('89ab').toContain(a[19]);
    expect(toRunUuid('step-7')).toBe(a);
    expect(toRunUuid('step-8')).not.toBe(a);
  });
});

describe('locationOf', () => {
  it.each([
    ['{"uri": "s3://bucket/data/train.parquet"}', { namespace: 's3://bucket', name: 'data/train.parquet' }],
    [
      '{"url": "https://example.com/files/iris.csv"}',
      { namespace: 'https://example.com', name: 'files/iris.csv' },
    ],
    ['{"path": "/data/iris.csv"}', { namespace: 'file', name: '/data/iris.csv' }],
    ['file:///tmp/my%20data.csv', { namespace: 'file', name: '/tmp/my data.csv' }],
    ['gs://b/k', { namespace: 'gs://b', name: 'k' }],
  ])('%s', (source, expected) => {
    expect(locationOf(source)).toEqual(expected);
  });

  it.each([[undefined], ['{}'], ['{"uri": 3}'], ['just words'], ['']])('none for %j', (source) => {
    expect(locationOf(source)).toBeUndefined();
  });
});

describe('toOpenLineageEvents', () => {
  const trained = run(RUN, {
    status: 'FINISHED',
    startTime: Date.UTC(2026, 0, 1),
    endTime: Date.UTC(2026, 0, 2),
    experimentId: '7',
    experimentName: 'churn',
  });
  const sweep = run(PARENT, { status: 'RUNNING', startTime: Date.UTC(2025, 11, 31), experimentId: '7' });
  const data: LineageNode = {
    kind: 'dataset',
    id: 'd1',
    label: 'train',
    attributes: { name: 'train', digest: 'abc123', source: '{"uri": "s3://bucket/train.parquet"}' },
  };
  const local: LineageNode = { kind: 'dataset', id: 'd2', label: 'holdout', attributes: { name: 'holdout' } };
  const model: LineageNode = {
    kind: 'model_version',
    id: 'mv1',
    label: 'churn/3',
    attributes: { name: 'churn', version: 3 },
  };

  it('makes one event per run with inputs, outputs and the parent facet', () => {
    const events = toOpenLineageEvents(
      graph(
        [model, trained, data, local, sweep],
        [
          [trained, 'produced', model],
          [data, 'input', trained],
          [local, 'input', trained],
          [sweep, 'parent', trained],
        ],
      ),
      OPTIONS,
    );
    expect(events).toHaveLength(2);
    const [event, parentEvent] = events;
    expect(event).toEqual({
      eventType: 'COMPLETE',
      eventTime: '2026-01-02T00:00:00.000Z',
      run: {
        runId: '01234567-89ab-cdef-0123-456789abcdef',
        facets: {
          parent: {
            _producer: 'urn:cairn:server',
            _schemaURL: 'https://openlineage.io/spec/facets/1-0-1/ParentRunFacet.json#/$defs/ParentRunFacet',
            run: { runId: 'fedcba98-7654-3210-fedc-ba9876543210' },
            job: { namespace: 'cairn', name: 'experiment/7' },
          },
        },
      },
      job: { namespace: 'cairn', name: 'churn' },
      inputs: [
        {
          namespace: 's3://bucket',
          name: 'train.parquet',
          facets: {
            version: {
              _producer: 'urn:cairn:server',
              _schemaURL:
                'https://openlineage.io/spec/facets/1-0-0/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet',
              datasetVersion: 'abc123',
            },
          },
        },
        { namespace: 'cairn', name: 'datasets/holdout' },
      ],
      outputs: [
        {
          namespace: 'cairn',
          name: 'models/churn',
          facets: { version: expect.objectContaining({ datasetVersion: '3' }) },
        },
      ],
      producer: 'urn:cairn:server',
      schemaURL: OPENLINEAGE_SCHEMA_URL,
    });
    expect(parentEvent).toMatchObject({
      eventType: 'RUNNING',
      eventTime: '2025-12-31T00:00:00.000Z',
      inputs: [],
      outputs: [],
    });
    expect(parentEvent!.run.facets).toBeUndefined();
    for (const e of events) expect(Value.Check(OpenLineageRunEvent, e)).toBe(true);
  });

  it.each([
    ['FINISHED', 'COMPLETE'],
    ['FAILED', 'FAIL'],
    ['KILLED', 'ABORT'],
    ['RUNNING', 'RUNNING'],
    ['SCHEDULED', 'RUNNING'],
    [undefined, 'OTHER'],
  ])('maps run status %s to %s', (status, eventType) => {
    const [event] = toOpenLineageEvents(
      graph([run(RUN, status === undefined ? {} : { status })], []),
      OPTIONS,
    );
    expect(event!.eventType).toBe(eventType);
  });

  it('times an unknown run by the export and names its job after the run', () => {
    const [event] = toOpenLineageEvents(graph([run(RUN, {})], []), OPTIONS);
    expect(event!.eventTime).toBe('2026-11-27T00:00:00.000Z');
    expect(event!.job).toEqual({ namespace: 'cairn', name: `run/${RUN}` });
  });

  it('leaves out nodes that are not runs, and an empty graph gives no events', () => {
    expect(toOpenLineageEvents(graph([model], []), OPTIONS)).toEqual([]);
  });
});
