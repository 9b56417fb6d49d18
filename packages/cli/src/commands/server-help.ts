import { ENV_VARS, type EnvVarSpec } from '@cairn/server/env-vars';

/** The environment table under `cairn server --help`; loads no server code. */
export function environmentHelp(): string {
  const specs: EnvVarSpec[] = Object.values(ENV_VARS);
  const rows = specs.map((v) => `  ${v.name.padEnd(27)} ${v.description} (default: ${v.default})`);
  return (
    '\nEnvironment variables (flags win over them; cairn.config.json in the working folder is read last):\n' +
    `${rows.join('\n')}\n`
  );
}
