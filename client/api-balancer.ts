// A node's own way to the control plane when there are several API servers (as k3s
// agents keep one): a TCP load balancer on loopback (machinery/tcp-balancer.ts) whose
// backends start as the configured server(s) and then follow the `kubernetes`
// Endpoints in `default` — every live API server's address — so the node's clients
// carry on through another server when one dies, with no balancer process of the
// first host in their path. The endpoints are read through the balancer itself. A
// client that may watch endpoints (kube-proxy's identity) watches them; one that may
// only get them (a kubelet: upstream's node rules) reads them every few seconds. The
// servers last listed are kept in a file, so a restarted client starts from them too
// (its configured address may be the one that died).
import { readFileSync, writeFileSync } from 'node:fs';
import type { Endpoints } from 'kubernetes-types/core/v1.js';
import { parseBackend, TcpLoadBalancer, type Backend } from '../machinery/tcp-balancer.js';
import { resourceByPath } from '../machinery/resources.js';
import { StatusError } from '../machinery/status.js';
import { HttpTransport, type ClientConfig } from './http-transport.js';

const ENDPOINTS = resourceByPath('', 'v1', 'endpoints')!;
/** How often the endpoints are read when they can't be watched, and the pause before a watch is reopened. */
const REFRESH_MS = 5_000;
const RETRY_MS = 1_000;

export interface ApiServerBalancerOptions {
  /** The configured API server URL(s): the first backends, and the ones used whenever the endpoints list none. */
  servers: string[];
  /** Credentials to read the endpoints with (the URL is the balancer's own). */
  credentials: Omit<ClientConfig, 'server'>;
  component: string;
  /** Where the servers last listed are kept across restarts. */
  stateFile?: string;
  log?: (msg: string) => void;
}

export interface ApiServerBalancer {
  /** `https://127.0.0.1:PORT`: the address the node's clients use. */
  readonly url: string;
  /** The backends connections go to now. */
  backends(): Backend[];
  close(): Promise<void>;
}

/** The backends the `kubernetes` Endpoints list (the `https` port of every subset). */
export function backendsFromEndpoints(ep: Endpoints): Backend[] {
  const out: Backend[] = [];
  for (const subset of ep.subsets ?? []) {
    const port = (subset.ports ?? []).find((p) => p.name === 'https') ?? subset.ports?.[0];
    if (!port?.port) continue;
    for (const a of subset.addresses ?? []) out.push({ host: a.ip, port: port.port });
  }
  return out.sort((a, b) => (a.host === b.host ? a.port - b.port : a.host < b.host ? -1 : 1));
}

const key = (bs: Backend[]) => bs.map((b) => `${b.host}:${b.port}`).join(',');

export async function startApiServerBalancer(o: ApiServerBalancerOptions): Promise<ApiServerBalancer> {
  const log = o.log ?? (() => {});
  const configured = o.servers.map(parseBackend);
  let saved: Backend[] = [];
  try {
    if (o.stateFile) saved = (JSON.parse(readFileSync(o.stateFile, 'utf8')) as string[]).map(parseBackend);
  } catch {
    saved = [];
  }
  const initial = [...configured, ...saved.filter((b) => !configured.some((c) => c.host === b.host && c.port === b.port))];
  const lb = new TcpLoadBalancer(initial);
  const port = await lb.listen(0, '127.0.0.1');
  const url = `https://127.0.0.1:${port}`;
  const client = new HttpTransport({ ...o.credentials, server: url }, { component: o.component, requestTimeoutMs: 10_000 });
  let current = initial;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  let stopWatch: (() => void) | undefined;

  const apply = (ep: Endpoints | undefined) => {
    const listed = ep ? backendsFromEndpoints(ep) : [];
    const next = listed.length ? listed : configured;
    if (key(next) === key(current)) return;
    current = next;
    lb.setBackends(next);
    if (o.stateFile && listed.length) {
      try {
        writeFileSync(o.stateFile, JSON.stringify(listed.map((b) => `${b.host}:${b.port}`)) + '\n');
      } catch (err) {
        log(`cannot keep the API servers in ${o.stateFile}: ${(err as Error).message}`);
      }
    }
    log(`API servers: ${key(next)}${listed.length ? ' (from the kubernetes endpoints)' : ' (configured)'}`);
  };
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
    });

  const follow = async () => {
    let canWatch = true;
    while (!stopped) {
      try {
        if (!canWatch) {
          apply(await client.get<Endpoints>(ENDPOINTS, 'default', 'kubernetes').catch((err) => {
            if (err instanceof StatusError && err.code === 404) return undefined;
            throw err;
          }));
          await pause(REFRESH_MS);
          continue;
        }
        const fieldSelector = 'metadata.name=kubernetes';
        const list = await client.list<Endpoints>(ENDPOINTS, 'default', { fieldSelector });
        apply(list.items[0]);
        const w = client.watch<Endpoints>(ENDPOINTS, 'default', { fieldSelector, resourceVersion: list.resourceVersion, allowWatchBookmarks: true }, (ev) => {
          if (ev.type === 'ADDED' || ev.type === 'MODIFIED') apply(ev.object);
          else if (ev.type === 'DELETED') apply(undefined);
        });
        stopWatch = () => w.stop();
        await w.done;
        stopWatch = undefined;
        if (!stopped) await pause(RETRY_MS);
      } catch (err) {
        if (err instanceof StatusError && err.code === 403) canWatch = false;
        else if (!stopped) await pause(RETRY_MS);
      }
    }
  };
  const following = follow();
  log(`API server balancer on ${url} → ${key(initial)}`);

  return {
    url,
    backends: () => [...current],
    async close() {
      stopped = true;
      if (timer) clearTimeout(timer);
      wake?.();
      stopWatch?.();
      await following;
      client.close();
      await lb.close();
    },
  };
}
