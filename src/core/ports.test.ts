import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ListenerPort } from '../crd/listener.ts';
import { buildServicePorts, validateServicePorts } from './ports.ts';

const dedupe: [string, ListenerPort[] | null | undefined, [string, number, string][]][] = [
  ['no ports', undefined, []],
  ['null ports', null, []],
  ['empty ports', [], []],
  ['one port, protocol defaulted to TCP', [{ name: 'http', port: 80 }], [['http', 80, 'TCP']]],
  ['null protocol is TCP', [{ name: 'http', port: 80, protocol: null }], [['http', 80, 'TCP']]],
  [
    'sorted by protocol, then name',
    [
      { name: 'z', port: 1, protocol: 'UDP' },
      { name: 'b', port: 2 },
      { name: 'a', port: 3, protocol: 'TCP' },
      { name: 's', port: 4, protocol: 'SCTP' },
    ],
    [['s', 4, 'SCTP'], ['a', 3, 'TCP'], ['b', 2, 'TCP'], ['z', 1, 'UDP']],
  ],
  [
    'the same (protocol, name): the last one wins',
    [{ name: 'http', port: 80 }, { name: 'http', port: 8080, protocol: 'TCP' }],
    [['http', 8080, 'TCP']],
  ],
  [
    'the same name with two protocols: both kept (and rejected by validation)',
    [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns', port: 53 }],
    [['dns', 53, 'TCP'], ['dns', 53, 'UDP']],
  ],
  ['exact duplicates collapse', [{ name: 'a', port: 1 }, { name: 'a', port: 1 }], [['a', 1, 'TCP']]],
];

for (const [what, input, expected] of dedupe) {
  test(`buildServicePorts: ${what}`, () => {
    assert.deepEqual(
      buildServicePorts(input),
      expected.map(([name, port, protocol]) => ({ name, port, protocol })),
    );
  });
}

const p = (name: string, port: number, protocol = 'TCP') => ({ name, port, protocol });

const validation: [string, ReturnType<typeof p>[], RegExp[]][] = [
  ['no ports', [], []],
  ['fine ports', [p('http', 80), p('dns', 53, 'UDP'), p('a-very-long-but-valid-port-name-of-forty-characters', 1)], []],
  ['an upper-case name', [p('HTTP', 80)], [/port "HTTP" \(80\/TCP\): the name must be a DNS-1123 label/]],
  ['an empty name', [p('', 80)], [/port "" \(80\/TCP\): the name must be/]],
  ['a name with a dot', [p('a.b', 80)], [/DNS-1123/]],
  ['a name of 64 characters', [p('a'.repeat(64), 80)], [/DNS-1123/]],
  ['port 0', [p('a', 0)], [/between 1 and 65535/]],
  ['port 65536', [p('a', 65536)], [/between 1 and 65535/]],
  ['a negative port', [p('a', -1)], [/between 1 and 65535/]],
  ['an unknown protocol', [p('a', 1, 'HTTP')], [/protocol must be one of TCP, UDP, SCTP/]],
  ['a lower-case protocol', [p('a', 1, 'tcp')], [/protocol must be one of/]],
  ['a name used with two protocols', [p('dns', 53), p('dns', 53, 'UDP')], [/port "dns" \(53\/UDP\): the name is also used by port "dns" \(53\/TCP\)/]],
  ['one number under two names', [p('a', 80), p('b', 80)], [/port "b" \(80\/TCP\): 80\/TCP is also exposed by port "a"/]],
  ['one number with two protocols is fine', [p('a', 53), p('b', 53, 'UDP')], []],
  ['several problems are all reported', [p('A', 0), p('b', 1, 'X')], [/DNS-1123/, /between/, /protocol/]],
];

for (const [what, ports, expected] of validation) {
  test(`validateServicePorts: ${what}`, () => {
    const problems = validateServicePorts(ports);
    assert.equal(problems.length, expected.length, problems.join('\n'));
    expected.forEach((re, i) => {
      assert.match(problems[i] ?? '', re);
    });
  });
}
