import { ContextModules } from '../src/shared/context-modules';
import { ProjectionsModule, ProjectionsWorkerModule } from './projections.module';

/** The ledger's read models: the CLI answers from them, the worker keeps them following the log. */
export const PROJECTIONS_CONTEXT: ContextModules = { name: 'projections', api: ProjectionsModule, worker: ProjectionsWorkerModule, cli: ProjectionsModule };
