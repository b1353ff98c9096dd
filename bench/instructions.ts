// Instructions executed per create, counted by valgrind's callgrind, for this build and
// optionally another one: an A/B the machine's load cannot move. Timing A/Bs on the
// shared 2-core machine cannot tell effects under ~10 % apart (the same build's CPU per
// create moves 20–60 % within an hour); the instructions a create executes do not depend
// on how fast the machine runs. They miss what costs time without instructions (cache
// misses, the kernel's share of syscalls), so they say which way and by how much the
// server's own work moved, for a timing A/B (`apiserver-ab.js`) to confirm when quiet.
// Not exact either: one build's runs spread by 3–6 % on the main thread (the controllers'
// and informers' batching still follows timing, slowed 50× and unevenly), so it tells
// apart effects of ~5 % and more with three runs a side, where timing needs ~20 %.
//
// Each run is a process under callgrind (~50× slower) holding a control plane in process
// (SQLite store with durable commits, watch cache, controllers and their informers: what
// `kite server` runs, without HTTPS), which creates ConfigMaps one at a time through the
// request pipeline (authorization, admission, storage) as a client in the process: one
// at a time, so that every commit is a batch of one whatever the timing, which keeps
// the count repeatable. After a warm-up the counters are zeroed, the measured creates
// run, and the counts are dumped per thread; thread 1 runs the requests. The sides alternate.
//
//   node dist/bench/instructions.js [--before /path/to/other/dist] [--runs 3] [--creates 2000] [--warm-up 3000]
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './args.js';
import { median } from './stats.js';

const args = benchArgs();
const RUNS = Number(args.get('runs') ?? 3);
const CREATES = Number(args.get('creates') ?? 2000);
const WARM_UP = Number(args.get('warm-up') ?? 3000);
const THIS_DIST = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The measured dumps' instructions by callgrind's thread number (1: the main thread). */
export function threadInstructions(dumps: readonly string[]): Map<number, number> {
  const byThread = new Map<number, number>();
  for (const text of dumps) {
    if (!text.includes('desc: Trigger: dump measured')) continue;
    const thread = Number(/^thread: (\d+)$/m.exec(text)?.[1] ?? 1);
    const count = /^summary: (\d+)$/m.exec(text) ?? /^totals: (\d+)$/m.exec(text);
    if (count) byThread.set(thread, (byThread.get(thread) ?? 0) + Number(count[1]));
  }
  return byThread;
}

/** In the process under callgrind: a control plane from `dist`, the creates, the counters zeroed and dumped around the measured ones. */
async function child(dist: string, workDir: string): Promise<void> {
  const { startControlPlane } = await import(join(dist, 'server', 'control-plane.js'));
  const { SqliteStore } = await import(join(dist, 'store', 'sqlite.js'));
  const { createCA, issueServingCert, createServiceAccountKeyPair } = await import(join(dist, 'machinery', 'pki.js'));
  const { resourceByPath } = await import(join(dist, 'machinery', 'resources.js'));
  const ca = await createCA('kite-bench-ca');
  const serving = await issueServingCert(ca, { commonName: 'kube-apiserver', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const store = new SqliteStore(join(workDir, 'state.db'), {});
  const cp = await startControlPlane({
    name: 'bench',
    dataDir: workDir,
    port: 0,
    bindAddress: '127.0.0.1',
    tls: { caCert: ca.cert, cert: serving.cert, key: serving.key },
    serviceAccountKeys: createServiceAccountKeyPair(),
    store,
  });
  const api = cp.client('bench');
  const configMap = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { bench: 'yes' } }, data: { payload: 'x'.repeat(1400) } });
  const configMaps = resourceByPath('', 'v1', 'configmaps');
  await api.create(resourceByPath('', 'v1', 'namespaces'), undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
  for (let i = 0; i < WARM_UP; i++) await api.create(configMaps, 'bench', configMap(`warm-up-${i}`));
  // callgrind_control talks to this process, which must keep running meanwhile.
  const control = (command: string) =>
    new Promise<void>((res, rej) => spawn('callgrind_control', [command, String(process.pid)], { cwd: workDir, stdio: 'ignore' }).on('exit', (code) => (code === 0 ? res() : rej(new Error(`callgrind_control ${command}: exit ${code}`)))));
  await control('--zero');
  for (let i = 0; i < CREATES; i++) await api.create(configMaps, 'bench', configMap(`cm-${i}`));
  await control('--dump=measured');
  process.exit(0);
}

function ensureValgrind(): void {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  } catch {
    if (process.getuid?.() !== 0) throw new Error('valgrind is not installed (as root: apt-get install valgrind)');
    console.error('installing valgrind (apt-get)…');
    execFileSync('apt-get', ['install', '-y', '-q', 'valgrind'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
}

/** One run of `dist`'s code under callgrind: thousands of instructions per create, the main thread's and all threads'. */
function measure(dist: string, workDir: string): { main: number; all: number } {
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  const out = join(workDir, 'callgrind.out');
  execFileSync(
    'valgrind',
    ['--tool=callgrind', '--separate-threads=yes', `--callgrind-out-file=${out}`, `--log-file=${join(workDir, 'valgrind.log')}`, process.execPath, fileURLToPath(import.meta.url), '--child', '--dist', dist, '--work', workDir, '--creates', String(CREATES), '--warm-up', String(WARM_UP)],
    { cwd: workDir, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, KITE_NODE: 'none' } },
  );
  const dumps = readdirSync(workDir).filter((f) => f.startsWith('callgrind.out')).map((f) => readFileSync(join(workDir, f), 'utf8'));
  const byThread = threadInstructions(dumps);
  const all = [...byThread.values()].reduce((a, b) => a + b, 0);
  if (!all) throw new Error(`no measured counts in ${workDir} (see valgrind.log there)`);
  return { main: (byThread.get(1) ?? 0) / CREATES / 1000, all: all / CREATES / 1000 };
}

async function main(): Promise<void> {
  if (args.get('child')) return child(args.get('dist')!, args.get('work')!);
  ensureValgrind();
  const before = args.get('before');
  const sides = [
    ...(before ? [{ name: 'before', dist: resolve(before), counts: [] as { main: number; all: number }[] }] : []),
    { name: before ? 'after' : 'this build', dist: THIS_DIST, counts: [] as { main: number; all: number }[] },
  ];
  const dir = mkdtempSync(join(tmpdir(), 'kite-bench-instructions-'));
  try {
    for (let run = 0; run < RUNS; run++) {
      for (const side of run % 2 === 0 ? sides : [...sides].reverse()) {
        const c = measure(side.dist, join(dir, side.name.replace(/\W/g, '-')));
        side.counts.push(c);
        console.error(`run ${run + 1}/${RUNS}, ${side.name}: ${c.main.toFixed(1)} K instructions per create on the main thread, ${c.all.toFixed(1)} K on all`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`instructions per create (callgrind; ${RUNS} runs of ${CREATES} in-process ConfigMap creates one at a time, after ${WARM_UP} to warm up)`);
  for (const s of sides) {
    const mains = s.counts.map((c) => c.main);
    const alls = s.counts.map((c) => c.all);
    console.log(`  ${s.name.padEnd(10)} main thread ${median(mains).toFixed(1)} K (runs ${mains.map((x) => x.toFixed(1)).join(', ')}); all threads ${median(alls).toFixed(1)} K (${alls.map((x) => x.toFixed(1)).join(', ')})`);
  }
  if (sides.length === 2) {
    const [b, a] = sides.map((s) => median(s.counts.map((c) => c.main)));
    console.log(`  after ÷ before, main thread: ${(a! / b!).toFixed(3)} (one build's runs spread by 3–6 %: the controllers' and informers' batching still follows timing)`);
  }
}

// Run as a program (not when a test imports threadInstructions).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
