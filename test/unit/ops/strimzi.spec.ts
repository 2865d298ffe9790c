import { readFileSync } from 'node:fs';
import { AclOperationTypes, AclResourceTypes, ResourcePatternTypes } from 'kafkajs';
import { load, loadAll } from 'js-yaml';
import { ALL_TOPICS, serviceAcls } from '../../e2e/kafka-security/service-acls.js';

const DIR = 'docker/k8s/strimzi';

/** The name of a kafkajs enum value (`AclOperationTypes.IDEMPOTENT_WRITE` → `IDEMPOTENT_WRITE`). */
const nameOf = (enumeration: object, value: number) => Object.entries(enumeration).find(([, v]) => v === value)![0];
const pascal = (name: string) => name.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _s, c: string) => c.toUpperCase());

describe('Strimzi resources (docker/k8s/strimzi)', () => {
  it('give the KafkaUser exactly the ACLs the kafka-security e2e test proves (docs/kafka-acls.md)', () => {
    const user = load(readFileSync(`${DIR}/user.yaml`, 'utf8')) as any;
    expect(user.spec.authentication.type).toBe('scram-sha-512');
    const declared = user.spec.authorization.acls.flatMap((acl: any) =>
      acl.operations.map((op: string) => `${acl.resource.type} ${acl.resource.patternType ?? 'literal'} ${acl.resource.name ?? 'kafka-cluster'} ${op}`),
    );
    const tested = serviceAcls('order-flow-svc').map((e) => {
      const pattern = nameOf(ResourcePatternTypes, e.resourcePatternType) === 'PREFIXED' ? 'prefix' : 'literal';
      return `${nameOf(AclResourceTypes, e.resourceType).toLowerCase()} ${pattern} ${e.resourceName} ${pascal(nameOf(AclOperationTypes, e.operation))}`;
    });
    expect([...new Set(declared)].sort()).toEqual([...new Set(tested)].sort());
    expect(declared).toHaveLength(new Set(declared).size);
  });

  it('create every topic with min.insync.replicas = replicas - 1, and keep dead letters 30 days', () => {
    const topics = (loadAll(readFileSync(`${DIR}/topics.yaml`, 'utf8')) as any[]).filter(Boolean);
    expect(topics.map((t) => t.metadata.name).sort()).toEqual([...ALL_TOPICS].sort());
    for (const t of topics) expect({ topic: t.metadata.name, minIsr: t.spec.config['min.insync.replicas'] }).toEqual({ topic: t.metadata.name, minIsr: t.spec.replicas - 1 });
    const dlq = topics.find((t) => t.metadata.name === 'dlq-orders');
    expect(dlq.spec.config['retention.ms']).toBe(30 * 24 * 3_600_000);
  });
});
