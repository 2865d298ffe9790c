import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { load, loadAll } from 'js-yaml';
import { validateEnv } from '../../../src/config/env.schema.js';
import { validateResource, type Resource } from '../../support/kubernetes-schemas.js';
import { describeWithBinary } from '../../support/system-binaries.js';

const K8S = 'docker/k8s';
type Labels = Record<string, string>;

/** Every manifest file under docker/k8s (kustomizations and env files are not resources). */
function manifestFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return manifestFiles(file);
    return entry.name.endsWith('.yaml') && entry.name !== 'kustomization.yaml' ? [file] : [];
  });
}

const documents = (text: string) => (loadAll(text) as Resource[]).filter(Boolean);
const matches = (selector: Labels, labels: Labels) => Object.entries(selector).every(([k, v]) => labels[k] === v);
const podLabels = (workload: Resource): Labels => workload.spec.template.metadata.labels;
const podSpec = (workload: Resource) => workload.spec.template.spec;
const configMapOf = (workload: Resource): string => podSpec(workload).containers[0].envFrom.find((e: any) => e.configMapRef).configMapRef.name;

describe('Kubernetes manifests, file by file (kubernetes-models schemas)', () => {
  it.each(manifestFiles(K8S))('%s is valid against the schema of its kind', (file) => {
    const resources = documents(readFileSync(file, 'utf8'));
    expect(resources.length).toBeGreaterThan(0);
    for (const resource of resources) expect(() => validateResource(resource)).not.toThrow();
  });
});

describeWithBinary('kubectl', 'Kubernetes manifests as kustomize builds them (kubectl kustomize)', (kubectl) => {
  function build(dir: string): Resource[] {
    const result = spawnSync(kubectl, ['kustomize', dir], { encoding: 'utf8', timeout: 60000 });
    if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${result.stderr}`);
    return documents(result.stdout);
  }
  const one = (resources: Resource[], kind: string): Resource => {
    const found = resources.filter((r) => r.kind === kind);
    if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
    return found[0];
  };

  let app: Resource[];
  let migrate: Resource[];
  let seed: Resource[];
  let monitoring: Resource[];
  let strimzi: Resource[];
  beforeAll(() => {
    [app, migrate, seed, monitoring, strimzi] = ['', '/migrate', '/seed', '/monitoring', '/strimzi'].map((sub) => build(`${K8S}${sub}`));
  });

  it('builds resources that are all valid against their schemas', () => {
    for (const resource of [...app, ...migrate, ...seed, ...monitoring, ...strimzi]) expect(() => validateResource(resource)).not.toThrow();
  });

  it('deploys the service without migrating or seeding anything', () => {
    expect(app.map((r) => r.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
    expect(podSpec(one(app, 'Deployment')).containers.map((c: any) => c.command)).toEqual([undefined]);
    expect(podSpec(one(app, 'Deployment')).initContainers).toBeUndefined();
  });

  it('gives each workload its own selector: the API objects select the API pods and never the Jobs', () => {
    const deployment = one(app, 'Deployment');
    const jobPods = [one(migrate, 'Job'), one(seed, 'Job')].map(podLabels);
    expect(podLabels(deployment)['app.kubernetes.io/component']).toBe('api');
    expect(jobPods.map((l) => l['app.kubernetes.io/component'])).toEqual(['migration', 'seed']);
    const selectors = {
      deployment: deployment.spec.selector.matchLabels,
      service: one(app, 'Service').spec.selector,
      pdb: one(app, 'PodDisruptionBudget').spec.selector.matchLabels,
    };
    for (const [name, selector] of Object.entries(selectors)) {
      expect({ name, api: matches(selector, podLabels(deployment)) }).toEqual({ name, api: true });
      expect({ name, jobs: jobPods.filter((l) => matches(selector, l)) }).toEqual({ name, jobs: [] });
    }
    expect(one(app, 'HorizontalPodAutoscaler').spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
  });

  it('migrates with a migrations-only Job and seeds the demo catalogue only in its own build, all with the same settings', () => {
    expect(podSpec(one(migrate, 'Job')).containers[0].command).toEqual(['node', 'dist/cli/db.js', 'migrate']);
    expect(podSpec(one(seed, 'Job')).containers[0].command).toEqual(['node', 'dist/cli/db.js', 'seed']);
    const settings = one(app, 'ConfigMap').metadata.name;
    expect([configMapOf(one(app, 'Deployment')), configMapOf(one(migrate, 'Job')), configMapOf(one(seed, 'Job'))]).toEqual([settings, settings, settings]);
  });

  it('rolls the pods when a setting changes: the ConfigMap is generated with a content hash in its name', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'order-flow-k8s-'));
    try {
      cpSync(K8S, dir, { recursive: true });
      const envFile = path.join(dir, 'common', 'order-flow.env');
      writeFileSync(envFile, readFileSync(envFile, 'utf8').replace('LOG_LEVEL=info', 'LOG_LEVEL=debug'));
      const before = configMapOf(one(app, 'Deployment'));
      const after = configMapOf(one(build(dir), 'Deployment'));
      expect(before).toMatch(/^order-flow-[a-z0-9]{10}$/);
      expect(after).toMatch(/^order-flow-[a-z0-9]{10}$/);
      expect(after).not.toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('holds settings the service accepts (with the example Secret), as does compose', () => {
    const secret = documents(readFileSync(`${K8S}/secret.example.yaml`, 'utf8'))[0] as any;
    const compose = load(readFileSync('docker/compose.yaml', 'utf8')) as { 'x-app-env': Record<string, string> };
    expect(() => validateEnv({ ...one(app, 'ConfigMap').data, ...secret.stringData })).not.toThrow();
    expect(() => validateEnv({ ...compose['x-app-env'], DATABASE_URL: 'mysql://order_flow:order_flow@mysql:3306/order_flow' })).not.toThrow();
  });

  it('sets the simulator profile explicitly', () => {
    expect(['dev', 'test']).toContain(one(app, 'ConfigMap').data?.SIM_PROFILE);
  });

  it('runs every pod as the order-flow ServiceAccount, with no API token mounted', () => {
    expect(one(app, 'ServiceAccount')).toMatchObject({ metadata: { name: 'order-flow' }, automountServiceAccountToken: false });
    for (const workload of [one(app, 'Deployment'), one(migrate, 'Job'), one(seed, 'Job')]) {
      expect(podSpec(workload)).toMatchObject({ serviceAccountName: 'order-flow', automountServiceAccountToken: false });
    }
  });

  it('lets HTTP in from anywhere, /metrics only from Prometheus, and only DNS, Kafka, MySQL, Redis and the issuer out', () => {
    const policy = one(app, 'NetworkPolicy').spec;
    expect(matches(policy.podSelector.matchLabels, podLabels(one(app, 'Deployment')))).toBe(true);
    expect(matches(policy.podSelector.matchLabels, podLabels(one(migrate, 'Job')))).toBe(true);
    expect(policy.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
    expect(policy.ingress.flatMap((rule: any) => rule.ports)).toEqual([
      { port: 'http', protocol: 'TCP' },
      { port: 'metrics', protocol: 'TCP' },
    ]);
    const [http, metrics] = policy.ingress;
    expect(http.from).toBeUndefined();
    // One peer with both selectors: Prometheus pods in the monitoring namespace, not either alone.
    expect(metrics.from).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } },
    ]);
    const egress = policy.egress.flatMap((rule: any) => rule.ports.map((p: any) => `${p.port}/${p.protocol}`));
    expect(egress.sort()).toEqual(['3306/TCP', '443/TCP', '53/TCP', '53/UDP', '6379/TCP', '9092/TCP']);
  });

  it('serves /metrics on METRICS_PORT, named metrics on the pod and the Service, and has the ServiceMonitor scrape that port', () => {
    const service = one(app, 'Service');
    const monitor = one(monitoring, 'ServiceMonitor');
    const deployment = one(app, 'Deployment');
    const metricsPort = Number(one(app, 'ConfigMap').data?.METRICS_PORT);
    expect(metricsPort).toBeGreaterThan(0);
    expect(metricsPort).not.toBe(Number(one(app, 'ConfigMap').data?.PORT));
    expect(podSpec(deployment).containers[0].ports).toContainEqual({ name: 'metrics', containerPort: metricsPort, protocol: 'TCP' });
    expect(deployment.spec.template.metadata.annotations['prometheus.io/port']).toBe(String(metricsPort));
    expect(service.spec.ports).toContainEqual({ name: 'metrics', port: metricsPort, targetPort: 'metrics', protocol: 'TCP' });
    expect(matches(monitor.spec.selector.matchLabels, service.metadata.labels ?? {})).toBe(true);
    expect(monitor.spec.endpoints[0].port).toBe('metrics');
    expect(monitor.spec.endpoints[0].path).toBe('/metrics');
    expect(one(monitoring, 'PrometheusRule').spec.groups.length).toBeGreaterThan(0);
  });

  it('labels the Strimzi topics and user with the Kafka cluster they belong to', () => {
    expect(strimzi.length).toBe(12);
    expect(strimzi.filter((r) => !r.metadata.labels?.['strimzi.io/cluster'])).toEqual([]);
  });
});
