// The admission chain runs every plugin of a phase in order, waits for the ones that
// answer with a promise, and answers synchronously when none did.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdmissionChain, type AdmissionPlugin, type AdmissionRequest } from '../../apiserver/admission/chain.js';

const request = { operation: 'CREATE', subresource: '', namespace: 'ns', name: 'x', warnings: [] } as unknown as AdmissionRequest;

function plugins(log: string[], asyncAt: ReadonlySet<string>, failAt?: string): AdmissionPlugin[] {
  const step = (name: string) => (): void | Promise<void> => {
    if (asyncAt.has(name)) {
      return new Promise<void>((resolve, reject) =>
        setImmediate(() => {
          log.push(name);
          if (name === failAt) reject(new Error(`${name} refused`));
          else resolve();
        }),
      );
    }
    log.push(name);
    if (name === failAt) throw new Error(`${name} refused`);
  };
  return ['a', 'b', 'c'].map((n) => ({ name: n, admit: step(`admit ${n}`), validate: step(`validate ${n}`) }));
}

test('plugins that all answer synchronously: no promise, every plugin in order', () => {
  const log: string[] = [];
  const chain = new AdmissionChain(plugins(log, new Set()));
  assert.equal(chain.admit(request), undefined);
  assert.equal(chain.validate(request), undefined);
  assert.deepEqual(log, ['admit a', 'admit b', 'admit c', 'validate a', 'validate b', 'validate c']);
});

test('a plugin with a promise is waited for before the plugins after it', async () => {
  const log: string[] = [];
  const chain = new AdmissionChain(plugins(log, new Set(['admit a', 'validate b'])));
  const admitting = chain.admit(request);
  assert.ok(admitting instanceof Promise);
  assert.deepEqual(log, []);
  await admitting;
  await chain.validate(request);
  assert.deepEqual(log, ['admit a', 'admit b', 'admit c', 'validate a', 'validate b', 'validate c']);
});

test('a refusal stops the phase, thrown or rejected as the plugin gave it', async () => {
  const log: string[] = [];
  assert.throws(() => new AdmissionChain(plugins(log, new Set(), 'admit b')).admit(request), /admit b refused/);
  assert.deepEqual(log, ['admit a', 'admit b']);
  log.length = 0;
  await assert.rejects(new AdmissionChain(plugins(log, new Set(['admit a', 'admit b']), 'admit b')).admit(request)!, /admit b refused/);
  assert.deepEqual(log, ['admit a', 'admit b']);
  log.length = 0;
  await assert.rejects(new AdmissionChain(plugins(log, new Set(['admit a']), 'admit c')).admit(request)!, /admit c refused/);
  assert.deepEqual(log, ['admit a', 'admit b', 'admit c']);
});
