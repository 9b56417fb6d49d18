/**
 * What serving tells the metrics (Prometheus, in `adapters/metrics`). A port,
 * so the domain knows nothing of the exposition format.
 */
export interface ServingObserver {
  request(event: {
    deployment: string;
    version: string;
    protocol: string;
    /** `ok`, or the error code the request ended with. */
    outcome: string;
    seconds: number;
  }): void;
  /** One model run: how many rows (and requests) it batched. */
  batch(event: {
    deployment: string;
    version: string;
    rows: number;
    requests: number;
    seconds: number;
  }): void;
  shadow(event: { deployment: string; version: string; agreed: boolean | null; seconds: number }): void;
  predictionsDropped(count: number): void;
}

export const NO_OBSERVER: ServingObserver = {
  request: () => undefined,
  batch: () => undefined,
  shadow: () => undefined,
  predictionsDropped: () => undefined,
};
