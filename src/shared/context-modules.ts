import type { DynamicModule, Type } from '@nestjs/common';

export type NestModule = Type<unknown> | DynamicModule;

/** Loads a module only when an entry point composes it: `tollgate` never loads the proxy (its tokenizer alone is 0.4 s). */
export type ModuleLoader = () => Promise<NestModule>;

/**
 * What a context plugs into each entry point: `api` for the HTTP process, `worker` for the
 * background process (the API runs these too when API_RUNS_WORKERS is set), `cli` for
 * `tollgate` (nest-commander finds @Command providers in any imported module). Each module
 * imports what it needs; the entry points add only config, the pool and the event store.
 * A context exports one of these from `<context>.context.ts` and is listed once in src/contexts.ts.
 */
export interface ContextModules {
  readonly name: string;
  readonly api?: ModuleLoader;
  readonly worker?: ModuleLoader;
  readonly cli?: ModuleLoader;
}
