import { CairnError, isCairnError } from '@cairn/contract';
import type { ModelMetadata, Tensor } from '@cairn/serving';
import type { AccessControl } from '../governance/index.js';
import type { ActiveDeployment, LoadedRoute, LoadedShadow } from './active-deployment.js';
import type { LiveRoute } from './entities.js';
import type { PredictionLog } from './prediction-log.js';
import type { PredictionDraft } from './prediction-sink.js';
import { takesShare } from './route-picker.js';
import type { ServingEngine } from './serving-engine.js';
import { deploymentTarget } from './serving-context.js';
import type { ServingObserver } from './serving-observer.js';
import { compareOutputs } from './shadow-compare.js';

export interface ParsedRequest {
  inputs: Tensor[];
  outputs?: string[] | undefined;
}

export interface InferCall {
  name: string;
  /** A version the request names (`/v2/models/NAME/versions/3/infer`); picked by weight when absent. */
  version?: string | undefined;
  /** Sticky routing key (a user or session id): the same key keeps the same route. */
  key?: string | undefined;
  protocol: 'v2' | 'predict';
  requestId: string;
  /** Checks and decodes the body against the metadata of the version the request was routed to. */
  parse(metadata: ModelMetadata): ParsedRequest;
}

export interface InferAnswer {
  route: LiveRoute;
  outputs: Tensor[];
  /** The parse result, for the caller's response (rows of a predict request). */
  parsed: ParsedRequest;
}

/**
 * The request path of serving: route, run, log a sample, copy to shadows.
 * Everything after the answer (the log record, shadow runs and their
 * comparison) happens off the caller's path.
 */
export class InferenceService {
  constructor(
    private readonly deps: {
      engine: ServingEngine;
      log: PredictionLog;
      access: AccessControl;
      observer: ServingObserver;
      now: () => number;
    },
  ) {}

  /** The deployment serving `name`, or the reason it cannot answer now. */
  active(name: string): ActiveDeployment {
    const active = this.deps.engine.get(name);
    if (active !== undefined) return active;
    const status = this.deps.engine.status(name);
    if (status === undefined) throw new CairnError('NOT_FOUND', `deployment ${name} not found`);
    throw new CairnError(
      'UNAVAILABLE',
      status.state === 'failed'
        ? `deployment ${name} could not load its model: ${status.message ?? 'unknown error'}`
        : `deployment ${name} is loading its model; retry shortly`,
    );
  }

  /** The deployment serving `name`, once the caller may read its project (metadata, readiness). */
  readable(name: string, action = 'deployments.describe'): ActiveDeployment {
    const active = this.active(name);
    this.deps.access.require('read', active.deployment.projectId, { action, target: deploymentTarget(name) });
    return active;
  }

  async infer(call: InferCall): Promise<InferAnswer> {
    const active = this.readable(call.name, 'deployments.predict');
    const started = performance.now();
    active.enter();
    let loaded: LoadedRoute | undefined;
    try {
      loaded = active.pick({ key: call.key, version: call.version });
      const parsed = call.parse(loaded.runtime.metadata);
      const outputs = await loaded.runtime.infer(
        parsed.inputs,
        parsed.outputs === undefined ? undefined : { outputs: parsed.outputs },
      );
      const latencyMs = performance.now() - started;
      this.#observe(call, { version: loaded.route.version, outcome: 'ok', latencyMs });
      const sampled = Math.random() < active.revision.settings.sampleRate;
      if (sampled)
        this.deps.log.record(this.#record(active, { call, route: loaded.route, parsed, outputs, latencyMs }));
      for (const shadow of active.shadows) {
        if (takesShare(shadow.route.percent))
          this.#shadow(active, { shadow, call, parsed, live: outputs, sampled });
      }
      return { route: loaded.route, outputs, parsed };
    } catch (error) {
      const code = isCairnError(error) ? error.code : 'INTERNAL';
      this.#observe(call, {
        version: loaded?.route.version,
        outcome: code,
        latencyMs: performance.now() - started,
      });
      throw error;
    } finally {
      active.leave();
    }
  }

  #observe(
    call: InferCall,
    result: { version: number | undefined; outcome: string; latencyMs: number },
  ): void {
    this.deps.observer.request({
      deployment: call.name,
      version: result.version === undefined ? '' : String(result.version),
      protocol: call.protocol,
      outcome: result.outcome,
      seconds: result.latencyMs / 1000,
    });
  }

  /** Runs a copy on the shadow and compares; holds the revision until done, never throws. */
  #shadow(
    active: ActiveDeployment,
    input: { shadow: LoadedShadow; call: InferCall; parsed: ParsedRequest; live: Tensor[]; sampled: boolean },
  ): void {
    const { shadow, call, parsed, live } = input;
    active.enter();
    const started = performance.now();
    const options = parsed.outputs === undefined ? undefined : { outputs: parsed.outputs };
    void shadow.runtime
      .infer(parsed.inputs, options)
      .then(
        (outputs) => ({ outputs, error: null }),
        (error: unknown) => ({ outputs: [] as Tensor[], error: (error as Error).message }),
      )
      .then(({ outputs, error }) => {
        const latencyMs = performance.now() - started;
        const comparison =
          error === null ? compareOutputs(live, outputs) : { agreed: null, meanAbsDiff: null };
        this.deps.observer.shadow({
          deployment: call.name,
          version: String(shadow.route.version),
          agreed: comparison.agreed,
          seconds: latencyMs / 1000,
        });
        // Every shadow answer is logged: the comparison summary is read from these rows.
        this.deps.log.record({
          ...this.#record(active, { call, route: shadow.route, parsed, outputs, latencyMs }),
          kind: 'shadow',
          status: error === null ? 'ok' : 'error',
          error,
          inputs: input.sampled ? parsed.inputs : null,
          agreed: comparison.agreed,
          meanAbsDiff: comparison.meanAbsDiff,
        });
      })
      .finally(() => active.leave());
  }

  #record(
    active: ActiveDeployment,
    input: {
      call: InferCall;
      route: { model: string; version: number };
      parsed: ParsedRequest;
      outputs: Tensor[];
      latencyMs: number;
    },
  ): PredictionDraft {
    return {
      requestId: input.call.requestId,
      kind: 'live',
      deploymentId: active.deployment.deploymentId,
      revision: active.revision.revision,
      model: input.route.model,
      version: input.route.version,
      protocol: input.call.protocol,
      createdAt: this.deps.now(),
      latencyMs: input.latencyMs,
      status: 'ok',
      error: null,
      inputs: input.parsed.inputs,
      outputs: input.outputs,
      agreed: null,
      meanAbsDiff: null,
    };
  }
}
