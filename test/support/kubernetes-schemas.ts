import { Ajv } from 'ajv';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';

export interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
  [field: string]: unknown;
}

/**
 * Kinds with a schema from npm: kubernetes-models (generated from the Kubernetes OpenAPI
 * definitions) and @kubernetes-models/prometheus-operator (generated from the Operator's CRDs).
 */
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'batch/v1/Job': Job,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};

const aclOperations = ['Read', 'Write', 'Create', 'Delete', 'Alter', 'Describe', 'ClusterAction', 'AlterConfigs', 'DescribeConfigs', 'IdempotentWrite', 'All'];

/** No npm package carries Strimzi's CRDs: the parts of their schemas (kafka.strimzi.io/v1beta2) these manifests use. */
const STRIMZI_SCHEMAS = {
  KafkaTopic: {
    type: 'object',
    additionalProperties: false,
    properties: {
      partitions: { type: 'integer', minimum: 1 },
      replicas: { type: 'integer', minimum: 1, maximum: 32767 },
      config: { type: 'object' },
      topicName: { type: 'string' },
    },
  },
  KafkaUser: {
    type: 'object',
    additionalProperties: false,
    required: ['authentication'],
    properties: {
      authentication: { type: 'object', required: ['type'], properties: { type: { enum: ['tls', 'tls-external', 'scram-sha-512'] } } },
      authorization: {
        type: 'object',
        additionalProperties: false,
        required: ['type', 'acls'],
        properties: {
          type: { const: 'simple' },
          acls: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['resource', 'operations'],
              properties: {
                resource: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['type'],
                  properties: { type: { enum: ['topic', 'group', 'cluster', 'transactionalId'] }, name: { type: 'string' }, patternType: { enum: ['literal', 'prefix'] } },
                },
                operations: { type: 'array', minItems: 1, items: { enum: aclOperations } },
                host: { type: 'string' },
                type: { enum: ['allow', 'deny'] },
              },
            },
          },
        },
      },
      quotas: { type: 'object' },
      template: { type: 'object' },
    },
  },
};

const ajv = new Ajv({ allErrors: true });
const strimzi = Object.fromEntries(
  Object.entries(STRIMZI_SCHEMAS).map(([kind, spec]) => [
    `kafka.strimzi.io/v1beta2/${kind}`,
    ajv.compile({
      type: 'object',
      required: ['apiVersion', 'kind', 'metadata', 'spec'],
      additionalProperties: false,
      properties: {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        metadata: { type: 'object', required: ['name'], properties: { name: { type: 'string', pattern: '^[a-z0-9][a-z0-9.-]*$' }, labels: { type: 'object' } } },
        spec,
      },
    }),
  ]),
);

/** Throws with the schema's complaints when `resource` is not a valid object of its kind (or its kind is unknown here). */
export function validateResource(resource: Resource): void {
  const key = `${resource.apiVersion}/${resource.kind}`;
  const Model = MODELS[key];
  if (Model) return new Model(resource).validate();
  const validate = strimzi[key];
  if (!validate) throw new Error(`no schema for ${key} (${resource.metadata?.name})`);
  if (!validate(resource)) throw new Error(`${key} ${resource.metadata.name}: ${ajv.errorsText(validate.errors)}`);
}
