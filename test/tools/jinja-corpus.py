#!/usr/bin/python3
"""Verifies ferry's Jinja2 corpus against real Jinja2 and Ansible, and records what they give.

Run by hand (it needs Debian's python3-jinja2 and ansible-core):
    apt-get install -y --no-install-recommends python3-jinja2 ansible-core
    /usr/bin/python3 test/tools/jinja-corpus.py            # writes test/fixtures/jinja/expected.json

Every case of test/fixtures/jinja/cases.yaml is evaluated with Ansible's own Templar:
  expressions  as `{{ (expr) | to_json }}` (so the value's type is kept), escape_backslashes off, as
               Ansible evaluates a `when:`;
  values       as a playbook value (Templar.template: escape_backslashes on); a value that is one
               expression is also evaluated natively (to_json) since ferry keeps its type;
  templates    as the template module does (AnsibleEnvironment, trim_blocks on, lstrip_blocks off
               unless the case says, trailing newlines preserved, ansible_managed set).
The test (test/unit/jinja-corpus.test.ts) runs ferry only and compares with expected.json.
"""
import json
import os
import sys

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import AnsibleEnvironment, Templar

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, '..', 'fixtures', 'jinja')


def outcome(fn):
    try:
        return {'value': fn()}
    except Exception as e:  # the class tells the test which kind of error ferry must raise
        name = type(e).__name__
        msg = str(e).split('\n')[0][:200]
        undefined = 'Undefined' in name or 'is undefined' in msg or 'has no attribute' in msg
        return {'error': 'undefined' if undefined else 'error', 'message': f'{name}: {msg}'}


def main():
    with open(os.path.join(FIXTURES, 'cases.yaml')) as f:
        cases = yaml.safe_load(f)
    os.environ['FERRY_CORPUS_ENV'] = 'from-env'
    loader = DataLoader()
    loader.set_basedir(FIXTURES)
    # Ansible's omit is a placeholder string that the task executor removes; the test reads ferry's omit as this string.
    shared = {**cases['vars'], 'omit': '__omit_place_holder__'}
    out = {'expressions': {}, 'values': {}, 'templates': {}}

    def templar(extra=None):
        return Templar(loader=loader, variables={**shared, **(extra or {})})

    for c in cases['expressions']:
        t = templar(c.get('vars'))
        src = '{{ (%s) | to_json }}' % c['expr']
        r = outcome(lambda: json.loads(t.template(src, escape_backslashes=False)))
        out['expressions'][c['expr']] = r

    for c in cases['values']:
        t = templar(c.get('vars'))
        v = c['value']
        r = outcome(lambda: t.template(v))
        stripped = v.strip()
        if stripped.startswith('{{') and stripped.endswith('}}') and v == stripped and stripped.count('{{') == 1:
            inner = stripped[2:-2]
            r['native'] = outcome(lambda: json.loads(t.template('{{ (%s) | to_json }}' % inner)))
        out['values'][v] = r

    for c in cases['templates']:
        t = templar({**(c.get('vars') or {}), 'ansible_managed': 'Managed by ferry'})
        env = t.copy_with_new_env(environment_class=AnsibleEnvironment, trim_blocks=c.get('trim_blocks', True),
                                  lstrip_blocks=c.get('lstrip_blocks', False))
        r = outcome(lambda: env.do_template(c['template'], preserve_trailing_newlines=True, escape_backslashes=False))
        out['templates'][c['name']] = r

    path = os.path.join(FIXTURES, 'expected.json')
    with open(path, 'w') as f:
        json.dump(out, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write('\n')
    n = sum(len(v) for v in out.values())
    print(f'{n} cases evaluated with jinja2 and ansible-core; wrote {path}', file=sys.stderr)


if __name__ == '__main__':
    main()
