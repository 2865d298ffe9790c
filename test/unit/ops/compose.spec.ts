import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { validateComposeFile } from '../../support/compose-schema.js';
import { describeWithBinary } from '../../support/system-binaries.js';

const COMPOSE_FILE = 'docker/compose.yaml';
const compose = load(readFileSync(COMPOSE_FILE, 'utf8')) as { services: Record<string, any>; 'x-app-env': Record<string, string> };
const services = compose.services;

describe('docker/compose.yaml', () => {
  it('is valid against the Compose specification schema', () => {
    expect(validateComposeFile(compose)).toEqual([]);
  });

  it('publishes every port on 127.0.0.1 only', () => {
    const ports = Object.entries(services).flatMap(([name, s]) => (s.ports ?? []).map((p: string) => `${name} ${p}`));
    expect(ports.length).toBeGreaterThanOrEqual(6);
    expect(ports.filter((p) => !/^\S+ 127\.0\.0\.1:\d+:\d+$/.test(p))).toEqual([]);
  });

  it('runs Grafana without anonymous access, with the admin password from the environment', () => {
    const env = services.grafana.environment;
    expect(env.GF_AUTH_ANONYMOUS_ENABLED).toBe('false');
    expect(env.GF_AUTH_ANONYMOUS_ORG_ROLE).toBeUndefined();
    expect(env.GF_SECURITY_ADMIN_PASSWORD).toMatch(/^\$\{GRAFANA_ADMIN_PASSWORD:\?/);
  });

  it('gives MySQL no known root password', () => {
    const env = services.mysql.environment;
    expect(env.MYSQL_ROOT_PASSWORD).toBeUndefined();
    expect(env.MYSQL_RANDOM_ROOT_PASSWORD).toBe('yes');
    expect(JSON.stringify(services.mysql.healthcheck)).not.toMatch(/-uroot|-proot/);
  });

  it('keeps dead letters long, names the simulator profile, and loads the alert rules into Prometheus', () => {
    expect(Number(compose['x-app-env'].KAFKA_DLQ_RETENTION_HOURS)).toBeGreaterThanOrEqual(720);
    expect(['dev', 'test']).toContain(compose['x-app-env'].SIM_PROFILE);
    expect(services.prometheus.volumes).toContain('./prometheus/alerts.rules.yml:/etc/prometheus/alerts.rules.yml:ro');
    expect((load(readFileSync('docker/prometheus/prometheus.yml', 'utf8')) as any).rule_files).toEqual(['alerts.rules.yml']);
  });
});

describeWithBinary('promtool', 'docker/prometheus/prometheus.yml (promtool)', (promtool) => {
  it('is a valid Prometheus configuration, its rule files included', () => {
    const result = spawnSync(promtool, ['check', 'config', '--syntax-only', 'docker/prometheus/prometheus.yml'], { encoding: 'utf8' });
    expect({ status: result.status, output: `${result.stdout}${result.stderr}` }).toMatchObject({ status: 0 });
  });
});
