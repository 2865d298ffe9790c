import { Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { databaseConfig } from '../../config/database.config.js';
import { buildDataSourceOptions } from './database-options.js';

/** The TypeORM connection pool; entities register themselves with `forFeature` in their modules. */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [databaseConfig.KEY],
      useFactory: (db: ConfigType<typeof databaseConfig>) => ({
        ...buildDataSourceOptions(db),
        autoLoadEntities: true,
        // Keep trying in the background rather than refusing to boot while the database restarts.
        retryAttempts: 30,
        retryDelay: 2000,
      }),
    }),
  ],
})
export class DatabaseModule {}
