import { Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { databaseConfig } from '../../config/database.config.js';
import { buildDataSourceOptions } from './database-options.js';
import { endIdleTransactionsAfter } from './idle-transactions.js';

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
      // Nest hands this factory only the TypeORM options: the session setting comes from the same config.
      dataSourceFactory: async (options) => {
        const dataSource = await new DataSource(options!).initialize();
        endIdleTransactionsAfter(dataSource, databaseConfig().idleTransactionTimeoutS);
        return dataSource;
      },
    }),
  ],
})
export class DatabaseModule {}
