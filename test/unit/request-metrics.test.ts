// apiserver_request_total and apiserver_request_duration_seconds count each answered
// request once, in the series of its verb, resource, scope and response code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestMetrics } from '../../apiserver/metrics/request-metrics.js';
import type { ResourceRequest } from '../../apiserver/request.js';
import { defaultRegistry } from '../../machinery/metrics.js';

function answer(method: string, code: number, r?: Partial<ResourceRequest>, query = ''): void {
  const req = { method, headers: { 'content-type': 'application/json' } } as unknown as IncomingMessage;
  const res = Object.assign(new EventEmitter(), { statusCode: code }) as unknown as ServerResponse;
  const tracked = requestMetrics.track(req, res);
  if (r) requestMetrics.resolved(tracked, r as ResourceRequest, new URLSearchParams(query));
  res.emit('close');
}

function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

test('each answered request counts once, in the series of its labels and code', () => {
  const labels = (verb: string, resource: string, scope: string, dryRun = '') =>
    `verb="${verb}",dry_run="${dryRun}",group="metrics-test.example",version="v1",resource="${resource}",subresource="",scope="${scope}",component="apiserver"`;
  const widgets = { verb: 'create', resource: { group: 'metrics-test.example', version: 'v1', plural: 'widgets' }, namespace: 'ns' } as unknown as ResourceRequest;
  const before = defaultRegistry.render();
  const created = sample(before, `apiserver_request_total{${labels('POST', 'widgets', 'namespace')},code="201"}`);
  for (let i = 0; i < 3; i++) answer('POST', 201, widgets);
  answer('POST', 409, widgets);
  answer('POST', 201, widgets, 'dryRun=All');
  answer('GET', 200, { ...widgets, verb: 'get', name: 'w' } as ResourceRequest);
  answer('DELETE', 404);
  const text = defaultRegistry.render();
  assert.equal(sample(text, `apiserver_request_total{${labels('POST', 'widgets', 'namespace')},code="201"}`), created + 3);
  assert.equal(sample(text, `apiserver_request_total{${labels('POST', 'widgets', 'namespace')},code="409"}`), 1);
  assert.equal(sample(text, `apiserver_request_total{${labels('POST', 'widgets', 'namespace', 'All')},code="201"}`), 1);
  assert.equal(sample(text, `apiserver_request_total{${labels('GET', 'widgets', 'resource')},code="200"}`), 1);
  assert.ok(sample(text, `apiserver_request_total{verb="DELETE",dry_run="",group="",version="",resource="",subresource="",scope="",component="apiserver",code="404"}`) >= 1);
  assert.equal(sample(text, `apiserver_request_duration_seconds_count{${labels('POST', 'widgets', 'namespace')}}`), 4);
  assert.equal(sample(text, `apiserver_request_duration_seconds_bucket{${labels('POST', 'widgets', 'namespace')},le="+Inf"}`), 4);
  assert.equal(sample(text, `apiserver_request_duration_seconds_bucket{${labels('POST', 'widgets', 'namespace')},le="60"}`), 4);
});

test('what ends with a request (the server\'s in-flight count) runs once, when its answer is finished', () => {
  const req = { method: 'GET', headers: {} } as unknown as IncomingMessage;
  const res = Object.assign(new EventEmitter(), { statusCode: 200 }) as unknown as ServerResponse;
  let ended = 0;
  requestMetrics.track(req, res).onEnd = () => ended++;
  assert.equal(ended, 0);
  res.emit('close');
  assert.equal(ended, 1);
});
