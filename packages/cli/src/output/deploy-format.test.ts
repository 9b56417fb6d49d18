import { describe, expect, it } from 'vitest';
import { endpointUrl, formatRate, routeList, shadowList, statusText } from './deploy-format.js';

const digest = `sha256:${'0'.repeat(64)}`;

describe('deploy formats', () => {
  it('lists routes with weights and shadows with their share', () => {
    const route = (version: number, weight: number) => ({
      ref: `churn/${version}`,
      model: 'churn',
      version,
      digest,
      format: 'onnx',
      weight,
    });
    expect(routeList([route(3, 90), route(4, 10)])).toBe('churn/3 90%, churn/4 10%');
    expect(routeList([])).toBe('-');
    expect(
      shadowList([{ ref: 'churn@b', model: 'churn', version: 5, digest, format: 'onnx', percent: 25 }]),
    ).toBe('churn/5 (25%)');
    expect(shadowList([])).toBe('-');
  });

  it('says what is served while a revision loads, and why one failed', () => {
    const status = (
      state: 'loading' | 'ready' | 'failed' | 'unknown',
      served: number | null,
      message = null as string | null,
    ) => statusText({ revision: 3, status: { state, servedRevision: served, message } });
    expect(status('ready', 3)).toBe('ready');
    expect(status('loading', 2)).toBe('loading (serving revision 2)');
    expect(status('loading', null)).toBe('loading');
    expect(status('failed', null, 'cannot load model.onnx')).toBe('failed: cannot load model.onnx');
    expect(status('unknown', null)).toBe('unknown');
  });

  it('shows rates as percents to one decimal', () => {
    expect(formatRate(0.97449)).toBe('97.4%');
    expect(formatRate(1)).toBe('100%');
    expect(formatRate(0)).toBe('0%');
    expect(formatRate(null)).toBe('-');
  });

  it('makes endpoints absolute against the server the CLI talks to', () => {
    expect(endpointUrl('/deployments/a/predict', 'http://10.0.0.5:5000')).toBe(
      'http://10.0.0.5:5000/deployments/a/predict',
    );
    expect(endpointUrl('http://127.0.0.1:8081/x', 'http://10.0.0.5:5000')).toBe('http://127.0.0.1:8081/x');
  });
});
