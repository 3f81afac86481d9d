import { AppConfig, ConfigError, loadConfig } from './config';

/**
 * The config, or, when a setting is missing or malformed, one line on stderr naming it and
 * exit 1: an operator needs the variable's name, not a stack trace.
 */
export function configOrExit(env: NodeJS.ProcessEnv = process.env): AppConfig {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
