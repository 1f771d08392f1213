// ferry as a library: run playbooks or single modules from TypeScript, without YAML. The runner's
// parts, with ferry's built-in modules and fact tools bound into the run functions (app/api.ts).
export { runPlaybookFile, runPlaybook, runAdhoc, executeTaskOn, gatherFactsFor, type CommonRunOptions, type RunParts, type TaskCall, type HostTaskOutcome } from './api.js';
export { Engine, executeTask, EXIT_INTERRUPTED, type EngineOptions, type RunSummary } from '../runner/engine.js';
export { serialBatches } from '../runner/serial-batches.js';
export type { TransportFactory } from '../runner/connection-pool.js';
export { loadInventory, inventoryToAnsibleList } from '../runner/inventory/index.js';
export { inventoryView, type InventoryView } from '../runner/inventory-view.js';
export { loadPlaybook } from '../runner/playbook/load.js';
export { sh, secret, raw, quote, type Command, type CommandResult } from '../runner/command.js';
export { SecretValues, isSecretName, NO_LOG_MESSAGE } from '../runner/secrets.js';
export { createTaskContext, type TaskContextOptions } from '../runner/task-context.js';
export { defineModule, runSteps, planTask, guardDestructive, ModuleRegistry, type TaskModule, type TaskContext, type Plan, type Step, type StepRun, type ToolOutput, type Verdict } from '../runner/module.js';
export { applyPlan, applySteps } from '../runner/apply-steps.js';
export type { Transport, RunOptions, BecomeOptions } from '../runner/transport/types.js';
export { SshTransport } from '../runner/transport/ssh.js';
export { LocalTransport } from '../runner/transport/local.js';
export { InFlight, type LiveCommand } from '../runner/transport/in-flight.js';
export { transportFactory } from '../runner/connections.js';
export * from '../runner/errors.js';
export type { FerryEvent, Reporter, HostRecap, TaskStatus } from '../runner/events.js';
export { builtinModules, BUILTIN_MODULES } from '../tasks/index.js';
export { MIGRATION_FACT_TOOLS } from '../tasks/fact-tools.js';
