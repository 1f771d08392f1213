// gather_facts: one read-only command per host (factsCommand) and a pure parser (parseFacts).
export { factsCommand, factsScript, factSections, FACT_SECTIONS, checkFactTools, toolFactName } from './command.js';
export { readFacts } from './read.js';
export { parseLvs, parsePvs, parseVgs, lvsCommand, pvsCommand, vgsCommand } from './lvm.js';
export {
  parseFacts,
  splitSections,
  parseOsRelease,
  osFacts,
  parseLsblk,
  parseMounts,
  parseTools,
  FactsParseError,
  type Section,
} from './parse.js';
export { factsVars, FACT_VARIABLES } from './vars.js';
export { ansibleFacts, ANSIBLE_FACT_NAMES, type AnsibleFactName, type AnsibleSources } from './ansible.js';
export type * from './types.js';
