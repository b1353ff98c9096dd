// A tiny node in network namespaces for the proxy tests: a "node" namespace with a
// bridge `kite0` (10.244.0.1/24, hairpin on) and pods on it, plus a "client" namespace
// outside the pod network, reached over a veth pair. Pods run a small HTTP (and UDP)
// server that answers with their name and the peer address they saw. All traffic stays
// inside these namespaces.
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function canUseNetns(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    execFileSync('nft', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'needs ip netns and nft';
  }
  return undefined;
}

function sh(args: string[]): void {
  execFileSync(args[0], args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
}

const SERVER = `
const http = require('http'), dgram = require('dgram');
const name = process.argv[2], port = Number(process.argv[3]);
http.createServer((q, r) => r.end(name + ' ' + q.socket.remoteAddress)).listen(port, '0.0.0.0');
const u = dgram.createSocket('udp4'); u.on('message', (m, rinfo) => u.send(name + ' ' + rinfo.address, rinfo.port, rinfo.address)); u.bind(port);
`;

const CLIENT = `
import http from 'node:http';
import dgram from 'node:dgram';
const [target, count, proto] = [process.argv[2], Number(process.argv[3] ?? 1), process.argv[4] ?? 'tcp'];
const [host, port] = target.split(':');
const one = () => new Promise((resolve) => {
  if (proto === 'udp') {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => { s.close(); resolve('TIMEOUT'); }, 1500);
    s.on('message', (m) => { clearTimeout(t); s.close(); resolve(String(m)); });
    s.on('error', (e) => { clearTimeout(t); s.close(); resolve('ERR ' + e.code); });
    s.send('x', Number(port), host);
    return;
  }
  const req = http.get({ host, port: Number(port), path: '/', timeout: 1500, agent: false }, (res) => {
    let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => resolve(b));
  });
  req.on('timeout', () => { req.destroy(); resolve('TIMEOUT'); });
  req.on('error', (e) => resolve('ERR ' + e.code));
});
const out = [];
for (let i = 0; i < count; i++) out.push(await one());
console.log(JSON.stringify(out));
`;

export interface Topology {
  node: string;
  client: string;
  pods: { ns: string; ip: string; name: string }[];
  nodeIP: string;
  clientIP: string;
  /** `count` requests from namespace `ns` to host:port; the answers (or ERR …/TIMEOUT). */
  request(ns: string, target: string, count?: number, proto?: 'tcp' | 'udp'): Promise<string[]>;
  exec(ns: string, args: string[]): string;
  destroy(): void;
}

/** `id`: a short unique tag (namespace names must not clash between test files). */
export async function makeTopology(id: string, podCount = 2, subnet = 31): Promise<Topology> {
  const dir = mkdtempSync(join(tmpdir(), 'kite-proxy-'));
  const server = join(dir, 'server.cjs');
  const client = join(dir, 'client.mjs');
  writeFileSync(server, SERVER);
  writeFileSync(client, CLIENT);
  const node = `${id}-node`;
  const cl = `${id}-cli`;
  const pods = Array.from({ length: podCount }, (_, i) => ({ ns: `${id}-p${i + 1}`, ip: `10.244.0.${i + 2}`, name: `pod${i + 1}` }));
  const all = [node, cl, ...pods.map((p) => p.ns)];
  for (const n of all) {
    try {
      sh(['ip', 'netns', 'del', n]);
    } catch {
      /* not there */
    }
  }
  const nodeIP = `172.${subnet}.0.1`;
  const clientIP = `172.${subnet}.0.2`;
  const procs: ChildProcess[] = [];
  for (const n of all) {
    sh(['ip', 'netns', 'add', n]);
    sh(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
  }
  sh(['ip', '-n', node, 'link', 'add', 'kite0', 'type', 'bridge']);
  sh(['ip', '-n', node, 'addr', 'add', '10.244.0.1/24', 'dev', 'kite0']);
  sh(['ip', '-n', node, 'link', 'set', 'kite0', 'up']);
  pods.forEach((p, i) => {
    const host = `veth${i + 1}`;
    sh(['ip', '-n', node, 'link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p.ns]);
    sh(['ip', '-n', node, 'link', 'set', host, 'master', 'kite0', 'up']);
    sh(['ip', '-n', node, 'link', 'set', host, 'type', 'bridge_slave', 'hairpin', 'on']);
    sh(['ip', '-n', p.ns, 'addr', 'add', `${p.ip}/24`, 'dev', 'eth0']);
    sh(['ip', '-n', p.ns, 'link', 'set', 'eth0', 'up']);
    sh(['ip', '-n', p.ns, 'route', 'add', 'default', 'via', '10.244.0.1']);
  });
  sh(['ip', '-n', node, 'link', 'add', 'ext0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', cl]);
  sh(['ip', '-n', node, 'addr', 'add', `${nodeIP}/24`, 'dev', 'ext0']);
  sh(['ip', '-n', node, 'link', 'set', 'ext0', 'up']);
  sh(['ip', '-n', cl, 'addr', 'add', `${clientIP}/24`, 'dev', 'eth0']);
  sh(['ip', '-n', cl, 'link', 'set', 'eth0', 'up']);
  sh(['ip', '-n', cl, 'route', 'add', 'default', 'via', nodeIP]);
  // A node has a default route; Service IPs are routed by it before DNAT.
  sh(['ip', '-n', node, 'route', 'add', 'default', 'via', clientIP]);
  for (const p of pods) {
    const child = spawn('ip', ['netns', 'exec', p.ns, process.execPath, server, p.name, '8080'], { stdio: 'ignore' });
    procs.push(child);
  }
  const topo: Topology = {
    node,
    client: cl,
    pods,
    nodeIP,
    clientIP,
    request(ns, target, count = 1, proto = 'tcp') {
      return new Promise((resolve, reject) => {
        const c = spawn('ip', ['netns', 'exec', ns, process.execPath, client, target, String(count), proto]);
        let out = '';
        let err = '';
        c.stdout.on('data', (d) => (out += d));
        c.stderr.on('data', (d) => (err += d));
        c.on('close', () => {
          try {
            resolve(JSON.parse(out) as string[]);
          } catch {
            reject(new Error(`client failed: ${err || out}`));
          }
        });
      });
    },
    exec(ns, args) {
      return execFileSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8' });
    },
    destroy() {
      for (const p of procs) if (p.pid) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      for (const n of all) {
        try {
          sh(['ip', 'netns', 'del', n]);
        } catch {
          /* gone */
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  // Wait for the servers to listen.
  const deadline = Date.now() + 5000;
  for (const p of pods) {
    for (;;) {
      const r = await topo.request(node, `${p.ip}:8080`).catch(() => ['ERR']);
      if (r[0].startsWith(p.name)) break;
      if (Date.now() > deadline) throw new Error(`pod ${p.name} server did not start: ${r[0]}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }
  return topo;
}
