/** The only variables of the server's own environment a model program sees. */
export const INHERITED_VARIABLES = ['PATH', 'HOME', 'LANG'] as const;

/**
 * The environment of a model program: PATH, HOME and LANG from the server
 * (never its secrets), `PYTHONUNBUFFERED=1` so a Python program's answers
 * are not held in a pipe buffer, then the manifest's `env`, which wins.
 */
export function programEnv(
  base: Readonly<Record<string, string | undefined>>,
  manifestEnv: Readonly<Record<string, string>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED_VARIABLES) {
    const value = base[name];
    if (value !== undefined) env[name] = value;
  }
  env['PYTHONUNBUFFERED'] = '1';
  return { ...env, ...manifestEnv };
}
