// NetworkPolicy enforcement on the node: informers on NetworkPolicies, Pods and
// Namespaces; on any change (debounced) the policies are compiled (compile.ts) and the
// table `inet kite-netpol` is replaced in one nft transaction. Stopping removes it.
//
// Starting it (the lead wires this into `kite server`, after the proxy):
//
//   const np = await startNetworkPolicy({ transport });
//   await np.stop();
//
// Needs br_netfilter (net.bridge.bridge-nf-call-iptables=1, which startProxy sets) so
// that traffic between pods on the bridge passes the inet forward hook.
import type { Namespace, Pod } from 'kubernetes-types/core/v1.js';
import type { NetworkPolicy } from 'kubernetes-types/networking/v1.js';
import { Informer } from '../client/informer.js';
import type { ApiTransport } from '../client/transport.js';
import { resourceByPath } from '../machinery/resources.js';
import { commandRunner, mustRun } from '../proxy/exec.js';
import { compilePolicies, renderTable } from './compile.js';

const POLICIES = resourceByPath('networking.k8s.io', 'v1', 'networkpolicies')!;
const PODS = resourceByPath('', 'v1', 'pods')!;
const NAMESPACES = resourceByPath('', 'v1', 'namespaces')!;

export const NETPOL_TABLE = 'kite-netpol';

export interface NetworkPolicyOptions {
  transport: ApiTransport;
  /** nftables table (default `kite-netpol`; one per cluster on a shared host). */
  table?: string;
  /** Program the rules inside this network namespace (tests). */
  netns?: string;
  /** Debounce between a change and the rewrite (default 50 ms). */
  debounceMs?: number;
  log?: (msg: string) => void;
}

export interface NetworkPolicyEnforcer {
  readonly ready: Promise<void>;
  /** Rewrite now; resolves when the kernel has it. */
  sync(): Promise<void>;
  /** How many rewrites happened (tests). */
  readonly syncs: number;
  stop(): Promise<void>;
}

export async function startNetworkPolicy(opts: NetworkPolicyOptions): Promise<NetworkPolicyEnforcer> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const run = commandRunner(opts.netns);
  const table = opts.table ?? NETPOL_TABLE;
  const policies = new Informer<NetworkPolicy>(opts.transport, POLICIES, { name: 'netpol-policies' });
  const pods = new Informer<Pod>(opts.transport, PODS, { name: 'netpol-pods' });
  const namespaces = new Informer<Namespace>(opts.transport, NAMESPACES, { name: 'netpol-namespaces' });
  let synced = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let last = '';
  let syncs = 0;

  const write = async (): Promise<void> => {
    if (!synced || stopped) return;
    const compiled = compilePolicies(policies.store.list(), pods.store.list(), namespaces.store.list());
    const text = renderTable(table, compiled);
    if (text === last) return;
    await mustRun(run, ['nft', '-f', '-'], text);
    last = text;
    syncs++;
  };
  const kick = (): void => {
    timer = undefined;
    if (running) {
      again = true;
      return;
    }
    running = write()
      .catch((err) => {
        log(`netpol: ${(err as Error).message}`);
        last = '';
        if (!stopped) setTimeout(schedule, 1000).unref();
      })
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          schedule();
        }
      });
  };
  const schedule = (): void => {
    if (timer || stopped || !synced) return;
    timer = setTimeout(kick, opts.debounceMs ?? 50);
  };
  const relevantPod = (a: Pod, b?: Pod) =>
    !b || a.status?.podIP !== b.status?.podIP || a.status?.phase !== b.status?.phase || JSON.stringify(a.metadata?.labels) !== JSON.stringify(b.metadata?.labels) || JSON.stringify(a.spec?.containers?.map((c) => c.ports)) !== JSON.stringify(b.spec?.containers?.map((c) => c.ports));
  policies.addEventHandler({ onAdd: schedule, onUpdate: schedule, onDelete: schedule });
  pods.addEventHandler({ onAdd: schedule, onUpdate: (a, b) => relevantPod(a, b) && schedule(), onDelete: schedule });
  namespaces.addEventHandler({ onAdd: schedule, onUpdate: (a, b) => JSON.stringify(a.metadata?.labels) !== JSON.stringify(b.metadata?.labels) && schedule(), onDelete: schedule });
  policies.start();
  pods.start();
  namespaces.start();
  const ready = Promise.all([policies.waitForSync(), pods.waitForSync(), namespaces.waitForSync()]).then(async () => {
    synced = true;
    await write().catch((err) => log(`netpol: ${(err as Error).message}`));
  });

  return {
    ready,
    get syncs() {
      return syncs;
    },
    async sync() {
      while (running) await running;
      await write();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await Promise.all([policies.stop(), pods.stop(), namespaces.stop()]);
      while (running) await running;
      await run(['nft', '-f', '-'], `add table inet ${table}\ndelete table inet ${table}\n`);
    },
  };
}
