// The callgrind dump reading of bench/instructions.ts: only the measured dumps count, by thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { threadInstructions } from '../../bench/instructions.js';

const dump = (trigger: string, thread: number, summary: number) =>
  `# callgrind format\nversion: 1\ncreator: callgrind-3.19.0\npid: 4242\ncmd:  /usr/bin/node x.js\npart: 1\nthread: ${thread}\n\ndesc: I1 cache: \ndesc: Timerange: Basic block 0 - 9\ndesc: Trigger: ${trigger}\n\npositions: line\nevents: Ir\nsummary: ${summary}\n\nfl=(1) ???\nfn=(1) 0x0000000000000000\n0 ${summary}\n\ntotals: ${summary}\n`;

test('the measured dumps are summed by thread; the start-up and exit dumps are left out', () => {
  const counts = threadInstructions([
    dump('dump measured', 1, 1_000_000),
    dump('dump measured', 3, 250_000),
    dump('dump measured', 3, 50_000),
    dump('Program termination', 1, 9_999_999),
    dump('Program termination', 2, 7),
  ]);
  assert.deepEqual([...counts.entries()].sort((a, b) => a[0] - b[0]), [
    [1, 1_000_000],
    [3, 300_000],
  ]);
});

test('a dump without a thread line is the main thread; one without a summary reads its totals', () => {
  const noThread = dump('dump measured', 1, 123).replace('thread: 1\n', '');
  const noSummary = dump('dump measured', 2, 456).replace(/^summary: .*\n/m, '');
  assert.deepEqual([...threadInstructions([noThread, noSummary]).entries()], [
    [1, 123],
    [2, 456],
  ]);
});
