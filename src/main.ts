import { Logger } from '@nestjs/common';
import { createApp, startConsumers } from './bootstrap.js';
import { appConfig } from './config/app.config.js';
import { exitWithin } from './shutdown-deadline.js';

const cfg = appConfig();
exitWithin();
const app = await createApp();
await app.listen(cfg.port, cfg.host);
void startConsumers(app);
new Logger('Main').log(`listening on ${cfg.publicUrl} (layers: ${[...cfg.layers].join(', ')}; Node ${process.version})`);
