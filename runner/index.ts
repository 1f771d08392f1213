// ferry as a library: run playbooks or single modules from TypeScript, without YAML.
export { runPlaybookFile, runPlaybook, runAdhoc, gatherFactsFor, type CommonRunOptions } from './api.js';
export { Engine, EXIT_INTERRUPTED, serialBatches, type EngineOptions, type InventoryView, type RunSummary, type TransportFactory } from './engine.js';
export { loadInventory, inventoryToAnsibleList } from './inventory/index.js';
export { inventoryView } from './inventory-view.js';
export { loadPlaybook } from './playbook/load.js';
export { sh, secret, raw, quote, type Command, type CommandResult } from './command.js';
export { SecretValues, isSecretName, NO_LOG_MESSAGE } from './secrets.js';
export { createTaskContext, type TaskContextOptions } from './task-context.js';
export { defineModule, runSteps, planTask, guardDestructive, ModuleRegistry, type TaskModule, type TaskContext, type Plan, type Step, type StepRun, type ToolOutput, type Verdict } from './module.js';
export { applyPlan, applySteps } from './apply-steps.js';
export type { Transport, RunOptions, BecomeOptions } from './transport/types.js';
export { SshTransport } from './transport/ssh.js';
export { LocalTransport } from './transport/local.js';
export { InFlight, type LiveCommand } from './transport/in-flight.js';
export { transportFactory } from './connections.js';
export * from './errors.js';
export type { FerryEvent, Reporter, HostRecap, TaskStatus } from './events.js';
export { builtinModules, BUILTIN_MODULES } from '../tasks/index.js';
