import { existsSync } from 'node:fs';

// Load .env before anything reads the configuration (topic names are read when modules load).
if (existsSync('.env')) process.loadEnvFile('.env');

const { Logger } = await import('@nestjs/common');
const { createApp, startConsumers } = await import('./bootstrap.js');
const { exitWithin } = await import('./shutdown-deadline.js');
const { appConfig } = await import('./config/app.config.js');

const cfg = appConfig();
exitWithin();
const app = await createApp();
await app.listen(cfg.port, cfg.host);
void startConsumers(app);
new Logger('Main').log(`listening on ${cfg.publicUrl} (layers: ${[...cfg.layers].join(', ')})`);
