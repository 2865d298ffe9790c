// The benchmarks' connection to the service's database (mysql2), from a DATABASE_URL such as
// mariadb://root@127.0.0.1:3306/order_flow.
import mysql from 'mysql2/promise';

/** One connection to the database `dbUrl` (a URL) names. */
export function connectDatabase(dbUrl) {
  return mysql.createConnection({
    host: dbUrl.hostname,
    port: Number(dbUrl.port || 3306),
    user: decodeURIComponent(dbUrl.username || 'root'),
    password: decodeURIComponent(dbUrl.password),
    database: dbUrl.pathname.slice(1),
  });
}
