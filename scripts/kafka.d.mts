// Types for scripts/kafka.mjs, so TypeScript tests can start and stop the local broker.
export interface KafkaOptions {
  port?: number | string;
  controllerPort?: number | string;
  dataDir?: string;
  version?: string;
  numPartitions?: number | string;
  security?: 'plain' | 'scram';
  adminUser?: string;
  adminPassword?: string;
  scramUsers?: string | { username: string; password: string }[];
  heapOpts?: string;
  installDir?: string;
  timeoutMs?: number;
  brokers?: string;
  log?: false | ((msg: string) => void);
  env?: NodeJS.ProcessEnv;
  /** Extra plain listeners, each advertising `127.0.0.1:<advertisedPort>` (a proxy in front of `port`). */
  extraListeners?: Array<{ name: string; port: number; advertisedPort?: number }>;
}
export const DEFAULT_KAFKA_VERSION: string;
export function startKafka(o?: KafkaOptions): Promise<{ brokers: string; startedByUs: boolean; pid?: number; dataDir?: string; logFile?: string; security: string }>;
export function stopKafka(o?: KafkaOptions & { graceMs?: number }): Promise<{ stopped: boolean; pid?: number }>;
export function ensureInstalled(o?: KafkaOptions): Promise<{ version: string; libsDir: string; installedNow: boolean }>;
export function waitForKafka(o?: KafkaOptions): Promise<{ brokers: string; startedByUs: false; clusterId?: string }>;
