// The actions probes and lifecycle hooks run (upstream: pkg/probe/{exec,http,tcp},
// kubelet/lifecycle/handlers.go): a command in the container, an HTTP GET or a TCP
// connect against the pod, or a sleep.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { Container, HTTPGetAction, Pod, TCPSocketAction } from 'kubernetes-types/core/v1.js';
import type { PodRuntime } from './types.js';
import { errorMessage } from './util.js';

export type ProbeOutcome = { ok: true; output: string } | { ok: false; output: string };

export const KUBE_PROBE_USER_AGENT = 'kube-probe/1.33';

/** Resolves a named or numeric port against the container's ports. */
export function resolvePort(port: number | string | undefined, container: Container): number {
  if (typeof port === 'number') return port;
  if (port === undefined || port === '') throw new Error('port is not set');
  if (/^\d+$/.test(port)) return Number(port);
  const p = (container.ports ?? []).find((x) => x.name === port);
  if (!p) throw new Error(`couldn't find port: ${port} in ${container.name}`);
  return p.containerPort;
}

export function httpGet(action: HTTPGetAction, podIP: string, container: Container, timeoutMs: number, userAgent = KUBE_PROBE_USER_AGENT): Promise<ProbeOutcome> {
  let port: number;
  try {
    port = resolvePort(action.port as number | string, container);
  } catch (err) {
    return Promise.resolve({ ok: false, output: errorMessage(err) });
  }
  const host = action.host || podIP;
  const scheme = (action.scheme ?? 'HTTP').toLowerCase();
  let path = action.path ?? '';
  if (!path.startsWith('/')) path = `/${path}`;
  const hostPort = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const url = `${scheme}://${hostPort}${path}`;
  const headers: Record<string, string> = { 'User-Agent': userAgent, Accept: '*/*' };
  for (const h of action.httpHeaders ?? []) {
    if (h.name.toLowerCase() === 'host') headers.Host = h.value;
    else headers[h.name] = h.value;
  }
  return new Promise((resolve) => {
    const fn = scheme === 'https' ? httpsRequest : httpRequest;
    let done = false;
    const finish = (o: ProbeOutcome) => {
      if (done) return;
      done = true;
      resolve(o);
    };
    const req = fn(url, { method: 'GET', headers, timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < 10 * 1024) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => {
        const code = res.statusCode ?? 0;
        const body = Buffer.concat(chunks).toString('utf8').slice(0, 10 * 1024);
        if (code >= 200 && code < 400) finish({ ok: true, output: body });
        else finish({ ok: false, output: `HTTP probe failed with statuscode: ${code}` });
      });
      res.on('error', (err) => finish({ ok: false, output: `Get "${url}": ${err.message}` }));
    });
    req.on('timeout', () => {
      req.destroy();
      finish({ ok: false, output: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
    });
    req.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, output: `Get "${url}": ${dialError(hostPort, err)}` }));
    req.end();
  });
}

function dialError(hostPort: string, err: NodeJS.ErrnoException): string {
  if (err.code === 'ECONNREFUSED') return `dial tcp ${hostPort}: connect: connection refused`;
  if (err.code === 'EHOSTUNREACH') return `dial tcp ${hostPort}: connect: no route to host`;
  return err.message;
}

export function tcpCheck(action: TCPSocketAction, podIP: string, container: Container, timeoutMs: number): Promise<ProbeOutcome> {
  let port: number;
  try {
    port = resolvePort(action.port as number | string, container);
  } catch (err) {
    return Promise.resolve({ ok: false, output: errorMessage(err) });
  }
  const host = action.host || podIP;
  const hostPort = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve) => {
    const sock = connect({ host, port, timeout: timeoutMs });
    sock.once('connect', () => {
      sock.destroy();
      resolve({ ok: true, output: '' });
    });
    sock.once('timeout', () => {
      sock.destroy();
      resolve({ ok: false, output: `dial tcp ${hostPort}: i/o timeout` });
    });
    sock.once('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, output: dialError(hostPort, err) }));
  });
}

export async function execCheck(runtime: PodRuntime, containerId: string, command: string[], timeoutSeconds: number): Promise<ProbeOutcome> {
  try {
    const r = await runtime.execSync(containerId, command, timeoutSeconds);
    const output = Buffer.concat([r.stdout, r.stderr]).toString('utf8');
    if (r.exitCode === 0) return { ok: true, output };
    return { ok: false, output: output || `command ${JSON.stringify(command)} exited with ${r.exitCode}` };
  } catch (err) {
    const msg = errorMessage(err);
    if (/deadline|timeout|timed out/i.test(msg)) return { ok: false, output: `command timed out: "${command.join(' ')}" timed out after ${timeoutSeconds}s` };
    return { ok: false, output: msg };
  }
}

export interface HookContext {
  runtime: PodRuntime;
  pod: Pod;
  container: Container;
  containerId: string;
  podIP: string;
  /** seconds the hook may take */
  timeoutSeconds: number;
}

/** Runs a postStart/preStop handler; resolves to an error message, or undefined on success. */
export async function runLifecycleHandler(
  handler: NonNullable<NonNullable<Container['lifecycle']>['postStart']>,
  ctx: HookContext,
): Promise<string | undefined> {
  if (handler.exec?.command) {
    try {
      const r = await ctx.runtime.execSync(ctx.containerId, handler.exec.command, ctx.timeoutSeconds);
      if (r.exitCode !== 0) {
        const out = Buffer.concat([r.stdout, r.stderr]).toString('utf8');
        return `Exec lifecycle hook (${JSON.stringify(handler.exec.command)}) for Container "${ctx.container.name}" in Pod "${ctx.pod.metadata?.name}_${ctx.pod.metadata?.namespace}(${ctx.pod.metadata?.uid})" failed - error: command '${handler.exec.command.join(' ')}' exited with ${r.exitCode}: ${out}, message: "${out}"`;
      }
      return undefined;
    } catch (err) {
      return `Exec lifecycle hook (${JSON.stringify(handler.exec.command)}) for Container "${ctx.container.name}" failed - error: ${errorMessage(err)}`;
    }
  }
  if (handler.httpGet) {
    const r = await httpGet(handler.httpGet, ctx.podIP, ctx.container, ctx.timeoutSeconds * 1000, 'kube-lifecycle/1.33');
    return r.ok ? undefined : `HTTP lifecycle hook (${handler.httpGet.path ?? ''}) for Container "${ctx.container.name}" in Pod "${ctx.pod.metadata?.name}" failed - error: ${r.output}`;
  }
  if (handler.sleep) {
    const ms = Math.min(handler.sleep.seconds, ctx.timeoutSeconds) * 1000;
    await new Promise((r) => setTimeout(r, ms));
    return undefined;
  }
  if (handler.tcpSocket) return undefined; // deprecated, accepted and ignored as upstream
  return 'invalid handler';
}
