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
        idleTransactionTimeoutS: db.idleTransactionTimeoutS,
      }),
      dataSourceFactory: async (options) => {
        const { idleTransactionTimeoutS, ...rest } = options as typeof options & { idleTransactionTimeoutS: number };
        const dataSource = await new DataSource(rest!).initialize();
        endIdleTransactionsAfter(dataSource, idleTransactionTimeoutS);
        return dataSource;
      },
    }),
  ],
})
export class DatabaseModule {}
