// Acceptance: ValidatingAdmissionPolicy and its bindings (CEL), driven by the real
// kubectl: params from a ConfigMap (paramKind/paramRef), messageExpression, variables,
// matchConditions, namespaceObject, the Deny and Warn actions, reasons and codes, and a
// binding whose params are missing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, applyYaml } from './harness.js';

const cluster = new Cluster('hooks-policy');

const POLICY = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: max-replicas}
spec:
  failurePolicy: Fail
  paramKind: {apiVersion: v1, kind: ConfigMap}
  matchConstraints:
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}
  matchConditions:
  - {name: not-exempt, expression: "!has(object.metadata.labels) || !('exempt' in object.metadata.labels)"}
  variables:
  - {name: limit, expression: "int(params.data.maxReplicas)"}
  validations:
  - expression: "object.spec.replicas <= variables.limit"
    messageExpression: "'replicas must be at most ' + string(variables.limit) + ', got ' + string(object.spec.replicas)"
`;

const BINDING = (name: string, actions: string, ns: string, paramName = 'limits') => `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: ${name}}
spec:
  policyName: max-replicas
  validationActions: [${actions}]
  paramRef: {name: ${paramName}, namespace: policy-params, parameterNotFoundAction: Deny}
  matchResources:
    namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ${ns}}}
`;

const TEAM_POLICY = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: team-label}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}
  validations:
  - expression: "!('env' in namespaceObject.metadata.labels) || namespaceObject.metadata.labels['env'] != 'prod' || (has(object.metadata.labels) && 'team' in object.metadata.labels)"
    message: "configmaps in prod namespaces need a team label"
    reason: Forbidden
  - expression: "request.userInfo.username != ''"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: team-label}
spec:
  policyName: team-label
  validationActions: [Deny]
`;

const deployment = (name: string, ns: string, replicas: number, labels: Record<string, string> = {}) =>
  JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
    },
  });

describe('ValidatingAdmissionPolicy', () => {
  before(async () => {
    await cluster.up();
    for (const ns of ['policy-params', 'denied', 'warned', 'prod']) await cluster.k(['create', 'namespace', ns]);
    await cluster.k(['label', 'namespace', 'prod', 'env=prod']);
    await cluster.k(['create', 'configmap', 'limits', '-n', 'policy-params', '--from-literal=maxReplicas=3']);
    await applyYaml(cluster, 'policy', POLICY);
    await applyYaml(cluster, 'binding-deny', BINDING('max-replicas-deny', 'Deny', 'denied'));
    await applyYaml(cluster, 'binding-warn', BINDING('max-replicas-warn', 'Warn', 'warned'));
  });

  after(async () => {
    await cluster.down();
  });

  test('served: discovery, table, defaults', async () => {
    const table = await cluster.k(['get', 'validatingadmissionpolicies']);
    assert.match(table, /^NAME\s+VALIDATIONS\s+PARAMKIND\s+AGE$/m);
    assert.match(table, /^max-replicas\s+1\s+v1\/ConfigMap\s+\S+$/m);
    const bindings = await cluster.k(['get', 'validatingadmissionpolicybindings']);
    assert.match(bindings, /^max-replicas-deny\s+max-replicas\s+policy-params\/limits\s+\S+$/m);
    const policy = JSON.parse(await cluster.k(['get', 'validatingadmissionpolicy', 'max-replicas', '-o', 'json']));
    assert.equal(policy.spec.matchConstraints.matchPolicy, 'Equivalent');
    assert.equal(policy.spec.matchConstraints.resourceRules[0].scope, '*');
  });

  test('Deny: a deployment over the limit from the params is rejected with the messageExpression', async () => {
    const r = await cluster.kubectl(['apply', '-f', '-'], { stdin: deployment('big', 'denied', 5) });
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /The deployments "big" is invalid: : ValidatingAdmissionPolicy 'max-replicas' with binding 'max-replicas-deny' denied request: replicas must be at most 3, got 5/,
    );
    await cluster.k(['apply', '-f', '-'], { stdin: deployment('small', 'denied', 2) });
    // matchConditions: an exempt object is not validated.
    await cluster.k(['apply', '-f', '-'], { stdin: deployment('exempt', 'denied', 9, { exempt: 'yes' }) });
    // Updates are validated too (the scale subresource is not: the rule names deployments only), and a changed param is in force at once.
    const patch = await cluster.kubectl(['patch', 'deployment', 'small', '-n', 'denied', '--type=merge', '-p', '{"spec":{"replicas":4}}']);
    assert.notEqual(patch.code, 0);
    assert.match(patch.stderr, /denied request: replicas must be at most 3, got 4/);
    await cluster.k(['scale', 'deployment', 'small', '-n', 'denied', '--replicas=4']);
    await cluster.k(['patch', 'configmap', 'limits', '-n', 'policy-params', '--type=merge', '-p', '{"data":{"maxReplicas":"10"}}']);
    await cluster.k(['apply', '-f', '-'], { stdin: deployment('big', 'denied', 5) });
    await cluster.k(['patch', 'configmap', 'limits', '-n', 'policy-params', '--type=merge', '-p', '{"data":{"maxReplicas":"3"}}']);
  });

  test('Warn: the object is created and kubectl prints the warning', async () => {
    const r = await cluster.kubectl(['apply', '-f', '-'], { stdin: deployment('big', 'warned', 5) });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Warning: Validation failed for ValidatingAdmissionPolicy 'max-replicas' with binding 'max-replicas-warn': replicas must be at most 3, got 5/);
  });

  test('missing params with parameterNotFoundAction Deny reject the request', async () => {
    await applyYaml(cluster, 'binding-missing', BINDING('max-replicas-missing', 'Deny', 'prod', 'nothing'));
    const r = await cluster.kubectl(['apply', '-f', '-'], { stdin: deployment('any', 'prod', 1) });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /ValidatingAdmissionPolicy 'max-replicas' with binding 'max-replicas-missing' denied request: failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction/);
    await cluster.k(['delete', 'validatingadmissionpolicybinding', 'max-replicas-missing']);
  });

  test('namespaceObject and reason Forbidden', async () => {
    await applyYaml(cluster, 'team', TEAM_POLICY);
    const r = await cluster.kubectl(['create', 'configmap', 'cfg', '-n', 'prod', '--from-literal=a=b']);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /configmaps "cfg" is forbidden: ValidatingAdmissionPolicy 'team-label' with binding 'team-label' denied request: configmaps in prod namespaces need a team label/,
    );
    await cluster.k(['apply', '-f', '-'], { stdin: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'prod', labels: { team: 'a' } } }) });
    await cluster.k(['create', 'configmap', 'cfg', '-n', 'denied', '--from-literal=a=b']);
  });
});
