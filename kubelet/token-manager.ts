// Service account tokens for pods (upstream: pkg/kubelet/token/token_manager.go):
// TokenRequests bound to the pod, cached, and renewed once a token is older than
// 80 % of its requested lifetime or 24 hours (less a jitter of up to 10 s), so
// projected volumes get a fresh token long before the old one expires.
import type { Pod } from 'kubernetes-types/core/v1.js';
import { errorMessage } from './util.js';

const MAX_TTL_MS = 24 * 3600 * 1000;
const MAX_JITTER_MS = 10_000;

export interface TokenRequestSpec {
  audiences: string[];
  expirationSeconds: number;
  boundObjectRef: { apiVersion: 'v1'; kind: 'Pod'; name: string; uid: string };
}

export interface IssuedToken {
  token: string;
  /** status.expirationTimestamp, ms since the epoch */
  expiresAtMs: number;
}

/** serviceaccounts/NAME/token in the namespace (the kubelet's API client). */
export type RequestToken = (namespace: string, serviceAccount: string, spec: TokenRequestSpec) => Promise<IssuedToken>;

interface CachedToken extends IssuedToken {
  podUid: string;
  expirationSeconds: number;
}

export class TokenManager {
  private readonly cache = new Map<string, CachedToken>();
  /** pod uid → its cache keys */
  private readonly byPod = new Map<string, Set<string>>();

  constructor(
    private readonly request: RequestToken,
    private readonly opts: { now?: () => number; random?: () => number; log?: (msg: string) => void } = {},
  ) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** When the token should be replaced (upstream requiresRefresh, jitter aside). */
  static refreshAt(t: { expiresAtMs: number; expirationSeconds: number }): number {
    const issuedAt = t.expiresAtMs - t.expirationSeconds * 1000;
    return Math.min(issuedAt + MAX_TTL_MS, t.expiresAtMs - t.expirationSeconds * 200);
  }

  private requiresRefresh(t: CachedToken): boolean {
    const now = this.now();
    const jitter = Math.floor((this.opts.random ?? Math.random)() * (MAX_JITTER_MS / 1000)) * 1000;
    const issuedAt = t.expiresAtMs - t.expirationSeconds * 1000;
    if (now > issuedAt + MAX_TTL_MS - jitter) return true;
    if (now > t.expiresAtMs - t.expirationSeconds * 200 - jitter) return true;
    // The clock went backwards past the issue time.
    return now < issuedAt;
  }

  /**
   * A token for the pod's service account bound to the pod: the cached one while
   * it is fresh, else a new one; when renewing fails the old one serves until it
   * expires. Throws (upstream's wording) when there is none.
   */
  async get(pod: Pod, audience: string | undefined, expirationSeconds: number): Promise<string> {
    const ns = pod.metadata?.namespace ?? 'default';
    const sa = pod.spec?.serviceAccountName || 'default';
    const spec: TokenRequestSpec = {
      audiences: audience ? [audience] : [],
      expirationSeconds,
      boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' },
    };
    // Non-confidential, as upstream's keyFunc.
    const key = JSON.stringify([sa, ns, spec.audiences, expirationSeconds, spec.boundObjectRef.name, spec.boundObjectRef.uid]);
    const cached = this.cache.get(key);
    if (cached && !this.requiresRefresh(cached)) return cached.token;
    let issued: IssuedToken;
    try {
      issued = await this.request(ns, sa, spec);
      if (!issued.token) throw new Error('the TokenRequest returned no token');
    } catch (err) {
      if (!cached) throw new Error(`failed to fetch token: ${errorMessage(err)}`, { cause: err });
      if (this.now() > cached.expiresAtMs) throw new Error(`token ${key} expired and refresh failed: ${errorMessage(err)}`, { cause: err });
      this.opts.log?.(`couldn't update token ${key}: ${errorMessage(err)}`);
      return cached.token;
    }
    this.cache.set(key, { ...issued, podUid: spec.boundObjectRef.uid, expirationSeconds });
    let keys = this.byPod.get(spec.boundObjectRef.uid);
    if (!keys) this.byPod.set(spec.boundObjectRef.uid, (keys = new Set()));
    keys.add(key);
    return issued.token;
  }

  /** The earliest time one of the pod's tokens wants renewing (for scheduling its next sync). */
  nextRefresh(podUid: string): number | undefined {
    let at: number | undefined;
    for (const k of this.byPod.get(podUid) ?? []) {
      const t = this.cache.get(k);
      if (!t) continue;
      const r = TokenManager.refreshAt(t);
      if (at === undefined || r < at) at = r;
    }
    return at;
  }

  /** The pod is gone (upstream DeleteServiceAccountToken). */
  forget(podUid: string): void {
    for (const k of this.byPod.get(podUid) ?? []) this.cache.delete(k);
    this.byPod.delete(podUid);
  }

  /** Drops expired tokens (upstream's periodic cleanup). */
  cleanup(): void {
    const now = this.now();
    for (const [k, t] of this.cache) {
      if (now <= t.expiresAtMs) continue;
      this.cache.delete(k);
      const keys = this.byPod.get(t.podUid);
      keys?.delete(k);
      if (keys?.size === 0) this.byPod.delete(t.podUid);
    }
  }
}
