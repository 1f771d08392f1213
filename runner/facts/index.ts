// gather_facts: one read-only command per host (factsCommand) and a pure parser (parseFacts).
export { factsCommand, factsScript, FACT_SECTIONS, FACT_TOOLS, FACTS_MARKER } from './command.js';
export {
  parseFacts,
  splitSections,
  parseOsRelease,
  osFacts,
  parseLsblk,
  parseLvmReport,
  parseMounts,
  parseTools,
  FactsParseError,
  type Section,
} from './parse.js';
export { factsVars } from './vars.js';
export type * from './types.js';
