// scratch: relay lag vs consumer lag for the last bench run
import { Kafka, logLevel } from 'kafkajs';
import mysql from 'mysql2/promise';
const db = await mysql.createConnection({ host: '127.0.0.1', user: 'root', database: 'order_flow' });
const [rows] = await db.query(`SELECT r.order_id AS id, r.occurred_at AS created_at, s.occurred_at AS picked FROM order_status_history r JOIN order_status_history s ON s.order_id = r.order_id AND s.to_status = 'INVENTORY_CHECK_STARTED' WHERE r.to_status = 'RECEIVED' AND r.occurred_at > NOW(3) - INTERVAL 10 MINUTE`);
const want = new Map(rows.map((r) => [r.id, r]));
const kafka = new Kafka({ brokers: ['127.0.0.1:9092'], logLevel: logLevel.NOTHING });
const admin = kafka.admin(); await admin.connect();
const offs = await admin.fetchTopicOffsets('orders-in'); await admin.disconnect();
const consumer = kafka.consumer({ groupId: 'lag-' + Date.now() });
await consumer.connect(); await consumer.subscribe({ topic: 'orders-in', fromBeginning: true });
const ts = new Map(); const end = Object.fromEntries(offs.map((o) => [o.partition, Number(o.high)])); const done = new Set();
await new Promise((resolve) => {
  consumer.run({ eachMessage: async ({ partition, message }) => {
    const v = JSON.parse(message.value.toString()); if (want.has(v.orderId)) ts.set(v.orderId, Number(message.timestamp));
    if (Number(message.offset) + 1 >= end[partition]) { done.add(partition); if (done.size === offs.filter(o=>Number(o.high)>0).length) resolve(); }
  } });
});
await consumer.disconnect();
const relay = [], cons = [];
for (const [id, r] of want) { const t = ts.get(id); if (!t) continue; relay.push(t - new Date(r.created_at).getTime()); cons.push(new Date(r.picked).getTime() - t); }
const pct = (a, p) => { a.sort((x, y) => x - y); return a[Math.min(a.length - 1, Math.ceil(p / 100 * a.length) - 1)]; };
console.log(`n=${relay.length} relay lag p50 ${pct(relay,50)} p95 ${pct(relay,95)}; consume lag p50 ${pct(cons,50)} p95 ${pct(cons,95)}`);
await db.end();
