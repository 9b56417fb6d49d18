import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ServingObserver } from '../../modules/serving/index.js';

/**
 * Serving metrics in Prometheus's exposition format. Latency buckets are
 * finer below 10 ms, where an in-process model answers; batch-size buckets
 * are powers of two, as batch sizes are.
 */
export class PrometheusMetrics implements ServingObserver {
  readonly registry = new Registry();
  readonly #requests: Counter<'deployment' | 'version' | 'protocol' | 'outcome'>;
  readonly #latency: Histogram<'deployment' | 'version' | 'protocol'>;
  readonly #batchRows: Histogram<'deployment' | 'version'>;
  readonly #batchSeconds: Histogram<'deployment' | 'version'>;
  readonly #shadow: Counter<'deployment' | 'version' | 'outcome'>;
  readonly #shadowLatency: Histogram<'deployment' | 'version'>;
  readonly #dropped: Counter;
  readonly #queue: Gauge<'deployment' | 'version'>;

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.processMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: 'cairn_' });
    this.#requests = new Counter({
      name: 'cairn_serving_requests_total',
      help: 'Inference requests by deployment, version, protocol and outcome (ok or an error code).',
      labelNames: ['deployment', 'version', 'protocol', 'outcome'],
      registers,
    });
    this.#latency = new Histogram({
      name: 'cairn_serving_request_duration_seconds',
      help: 'Time from routing to answer, per deployment and version.',
      labelNames: ['deployment', 'version', 'protocol'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.#batchRows = new Histogram({
      name: 'cairn_serving_batch_size',
      help: 'Rows per model run (adaptive batching gathers concurrent requests into one run).',
      labelNames: ['deployment', 'version'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers,
    });
    this.#batchSeconds = new Histogram({
      name: 'cairn_serving_batch_duration_seconds',
      help: 'Time of one model run.',
      labelNames: ['deployment', 'version'],
      buckets: [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers,
    });
    this.#shadow = new Counter({
      name: 'cairn_serving_shadow_requests_total',
      help: 'Requests copied to shadow versions, by whether the shadow agreed with the live answer.',
      labelNames: ['deployment', 'version', 'outcome'],
      registers,
    });
    this.#shadowLatency = new Histogram({
      name: 'cairn_serving_shadow_duration_seconds',
      help: 'Time a shadow version took to answer its copy.',
      labelNames: ['deployment', 'version'],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });
    this.#dropped = new Counter({
      name: 'cairn_serving_prediction_log_dropped_total',
      help: 'Prediction log records dropped because the database could not keep up.',
      registers,
    });
    this.#queue = new Gauge({
      name: 'cairn_serving_queue_depth',
      help: 'Requests waiting for a model run.',
      labelNames: ['deployment', 'version'],
      registers,
    });
  }

  request(event: Parameters<ServingObserver['request']>[0]): void {
    const { deployment, version, protocol, outcome, seconds } = event;
    this.#requests.inc({ deployment, version, protocol, outcome });
    if (outcome === 'ok') this.#latency.observe({ deployment, version, protocol }, seconds);
  }

  batch(event: Parameters<ServingObserver['batch']>[0]): void {
    const labels = { deployment: event.deployment, version: event.version };
    this.#batchRows.observe(labels, event.rows);
    this.#batchSeconds.observe(labels, event.seconds);
  }

  shadow(event: Parameters<ServingObserver['shadow']>[0]): void {
    const labels = { deployment: event.deployment, version: event.version };
    const outcome = event.agreed === null ? 'error' : event.agreed ? 'agreed' : 'disagreed';
    this.#shadow.inc({ ...labels, outcome });
    this.#shadowLatency.observe(labels, event.seconds);
  }

  queueDepth(labels: { deployment: string; version: string }, depth: number): void {
    this.#queue.set(labels, depth);
  }

  predictionsDropped(count: number): void {
    this.#dropped.inc(count);
  }

  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
