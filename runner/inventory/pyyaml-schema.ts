// Ansible reads YAML with PyYAML, whose YAML 1.1 scalars differ from the `yaml` library's 1.1
// schema: `y`/`n` are strings, a float needs a dot (`1e3` is a string, `1.0e+3` a float) and a
// date stays text (Ansible prints it back as written). These options make `yaml` read like PyYAML.
import type { ScalarTag, Tags } from 'yaml';
import type { YamlOptions } from '../yaml-source.js';

const BOOL = 'tag:yaml.org,2002:bool';
const FLOAT = 'tag:yaml.org,2002:float';
const TIMESTAMP = 'tag:yaml.org,2002:timestamp';

const pyTrue: ScalarTag = {
  identify: (v) => v === true,
  default: true,
  tag: BOOL,
  test: /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/,
  resolve: () => true,
};
const pyFalse: ScalarTag = {
  identify: (v) => v === false,
  default: true,
  tag: BOOL,
  test: /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/,
  resolve: () => false,
};
const pyFloat: ScalarTag = {
  identify: (v) => typeof v === 'number',
  default: true,
  tag: FLOAT,
  test: /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?)$/,
  resolve: (s) => Number.parseFloat(s.replace(/_/g, '')),
};

function pyyamlTags(tags: Tags): Tags {
  const kept = tags.filter((t) => {
    // Tags may also be given by name; the 1.1 schema hands over objects, but be complete.
    if (typeof t === 'string') return !['bool', 'float', 'floatExp', 'timestamp'].includes(t);
    if (t.tag === BOOL || t.tag === TIMESTAMP) return false;
    // Keep .inf/.nan and sexagesimal floats; drop the library's plain and exponent floats.
    if (t.tag === FLOAT && t.format !== 'TIME' && !String((t as ScalarTag).test).includes('inf')) return false;
    return true;
  });
  return [pyTrue, pyFalse, pyFloat, ...kept];
}

/** Parse options that read YAML as PyYAML (and so Ansible) does. */
export const PYYAML: YamlOptions = { version: '1.1', customTags: pyyamlTags };
